// @generated automatically by Diesel CLI.

diesel::table! {
    account_attributes (account_id, name) {
        account_id -> Uuid,
        name -> Text,
        attribute_values -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    accounts (id) {
        id -> Uuid,
        integration_id -> Uuid,
        user_id -> Nullable<Uuid>,
        external_id -> Text,
        username -> Text,
        email -> Nullable<Text>,
        display_name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        link_key -> Nullable<Text>,
        link_conflict -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Uuid,
        name -> Text,
        role -> Text,
        secret_hash -> Bytea,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Uuid,
        at -> Timestamptz,
        actor_name -> Text,
        actor_role -> Text,
        action -> Text,
        integration_id -> Nullable<Uuid>,
        resource_id -> Nullable<Uuid>,
        details -> Jsonb,
    }
}

diesel::table! {
    credentials_key_check (singleton) {
        singleton -> Bool,
        key_id -> Text,
        check_value -> Bytea,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    grants (id) {
        id -> Uuid,
        resource_id -> Uuid,
        user_id -> Uuid,
        source -> Text,
        reason -> Text,
        granted_by -> Text,
        granted_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        revoked_by -> Nullable<Text>,
        revoke_reason -> Nullable<Text>,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    integrations (id) {
        id -> Uuid,
        integration_type -> Text,
        name -> Text,
        config -> Jsonb,
        credentials_ciphertext -> Nullable<Bytea>,
        create_resources_for_new_teams -> Bool,
        sync_interval_seconds -> Int4,
        max_deletion_percent -> Int4,
        create_request_id -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        last_pulled_at -> Nullable<Timestamptz>,
        link_users_by -> Text,
        access_key_secret -> Bytea,
    }
}

diesel::table! {
    propagations (resource_id, user_id) {
        resource_id -> Uuid,
        user_id -> Uuid,
        integration_id -> Uuid,
        status -> Text,
        error -> Nullable<Text>,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
    }
}

diesel::table! {
    pulled_access (id) {
        id -> Uuid,
        integration_id -> Uuid,
        resource_id -> Uuid,
        account_id -> Uuid,
        added_at -> Timestamptz,
        removed_at -> Nullable<Timestamptz>,
        pair_key -> Int8,
        inherited -> Bool,
    }
}

diesel::table! {
    resources (id) {
        id -> Uuid,
        integration_id -> Uuid,
        external_id -> Text,
        resource_type -> Text,
        name -> Text,
        description -> Text,
        sync_mode -> Text,
        propagation_status -> Text,
        propagation_error -> Nullable<Text>,
        team_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sync_errors (integration_id, object) {
        integration_id -> Uuid,
        object -> Text,
        message -> Text,
        first_seen -> Timestamptz,
        last_seen -> Timestamptz,
        count -> Int8,
    }
}

diesel::table! {
    sync_events (run_id, seq) {
        run_id -> Uuid,
        seq -> Int8,
        integration_id -> Uuid,
        at -> Timestamptz,
        kind -> Text,
        phase -> Nullable<Text>,
        processed -> Int8,
        total -> Int8,
        stats -> Nullable<Jsonb>,
        state -> Text,
        message -> Text,
    }
}

diesel::table! {
    sync_run_changes (run_id, seq) {
        run_id -> Uuid,
        seq -> Int8,
        kind -> Text,
        resource_id -> Nullable<Uuid>,
        resource_external_id -> Nullable<Text>,
        resource_name -> Nullable<Text>,
        account_id -> Nullable<Uuid>,
        account_external_id -> Nullable<Text>,
        account_username -> Nullable<Text>,
        account_display_name -> Nullable<Text>,
        inherited -> Bool,
    }
}

diesel::table! {
    sync_runs (id) {
        id -> Uuid,
        integration_id -> Uuid,
        trigger -> Text,
        state -> Text,
        phase -> Nullable<Text>,
        stats -> Jsonb,
        error -> Nullable<Text>,
        dry_run -> Bool,
        allow_mass_deletion -> Bool,
        requested_by -> Text,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        claimed_by -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamptz>,
        event_seq -> Int8,
        lease_expiries -> Int4,
    }
}

diesel::table! {
    team_members (id) {
        id -> Uuid,
        team_id -> Uuid,
        user_id -> Uuid,
        added_at -> Timestamptz,
        removed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    teams (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Nullable<Text>,
        username -> Text,
        display_name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(audit_events -> integrations (integration_id));
diesel::joinable!(audit_events -> resources (resource_id));
diesel::joinable!(grants -> resources (resource_id));
diesel::joinable!(grants -> users (user_id));
diesel::joinable!(propagations -> integrations (integration_id));
diesel::joinable!(propagations -> resources (resource_id));
diesel::joinable!(propagations -> users (user_id));
diesel::joinable!(resources -> teams (team_id));
diesel::joinable!(sync_errors -> integrations (integration_id));
diesel::joinable!(sync_events -> sync_runs (run_id));
diesel::joinable!(sync_run_changes -> sync_runs (run_id));
diesel::joinable!(sync_runs -> integrations (integration_id));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(team_members -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    account_attributes,
    accounts,
    api_tokens,
    audit_events,
    credentials_key_check,
    grants,
    integrations,
    propagations,
    pulled_access,
    resources,
    sync_errors,
    sync_events,
    sync_run_changes,
    sync_runs,
    team_members,
    teams,
    users,
);
