#!/usr/bin/env python3
"""An integration's whole life through the Python client, against a running Oblique server.

1. creates a `postgres` integration for a PostgreSQL cluster (its credentials are checked first),
2. watches its first sync to the end (WatchSyncRun),
3. sets one of the cluster's NOLOGIN roles to push mode and grants a user access to it, then
   waits until the grant is pushed (the user's LOGIN role is made a member of that role),
4. stops syncing that role (back to pull mode) and deletes the integration, which leaves the
   cluster as it was: the membership granted stays.

Exits 0 when every step succeeded, 1 (with the server's code and message) on any failure, after
deleting an integration it had created. Secrets come from the environment, never from argv:

    OBLIQUE_SERVER     the server (default http://127.0.0.1:50051; https://… for TLS)
    OBLIQUE_TOKEN      an admin token (or --token-file, e.g. .oblique/admin-token)
    PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE, PGSSLROOTCERT
                       the PostgreSQL cluster to integrate, as libpq reads them (PGSSLMODE unset:
                       Oblique's default, verify-full; PGSSLROOTCERT: a PEM file of its CA)

    python examples/lifecycle.py --resource analysts --user alice
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
import uuid
from typing import Dict, Optional

import grpc

from oblique_client import REQUEST_ID, Clients, connect
from oblique_client.v1 import access_pb2, common_pb2, integration_pb2, sync_pb2, user_pb2

# Bounds on the waits, so that a stuck server fails the script rather than hanging it.
SYNC_DEADLINE_S = 300.0
PUSH_DEADLINE_S = 120.0
CALL_TIMEOUT_S = 30.0


class Failed(Exception):
    """A step did not end as it should (an RPC error is a grpc.RpcError instead)."""


def parse_args() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=env("OBLIQUE_SERVER", "http://127.0.0.1:50051"))
    parser.add_argument("--token-file", help="read the token from this file instead of OBLIQUE_TOKEN")
    parser.add_argument("--ca-file", help="PEM of the CA of an https:// server (default: the machine's roots)")
    parser.add_argument("--name", default=f"lifecycle-{uuid.uuid4().hex[:8]}", help="the integration's name")
    parser.add_argument("--host", default=env("PGHOST", "127.0.0.1"))
    parser.add_argument("--port", default=env("PGPORT", "5432"))
    parser.add_argument("--username", default=env("PGUSER"), required=env("PGUSER") is None)
    parser.add_argument("--sslmode", default=env("PGSSLMODE"))
    parser.add_argument("--ca-cert-file", default=env("PGSSLROOTCERT"), help="PEM of the cluster's CA")
    parser.add_argument("--role-pattern", help="SQL LIKE pattern limiting the roles synced")
    parser.add_argument("--resource", required=True, help="the NOLOGIN role to grant access to")
    parser.add_argument("--user", required=True, help="username of the Oblique user to grant it to")
    parser.add_argument("--reason", default="granted by examples/lifecycle.py")
    return parser.parse_args()


def read_token(args: argparse.Namespace) -> str:
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as file:
            return file.read().strip()
    token = os.environ.get("OBLIQUE_TOKEN", "")
    if not token:
        raise Failed("no token: set OBLIQUE_TOKEN or pass --token-file")
    return token


def postgres_setup(args: argparse.Namespace) -> tuple[Dict[str, str], Dict[str, str]]:
    password = os.environ.get("PGPASSWORD")
    if not password:
        raise Failed("no password: set PGPASSWORD")
    config = {"host": args.host, "port": str(args.port), "username": args.username}
    if args.sslmode:
        config["sslmode"] = args.sslmode
    if args.ca_cert_file:
        with open(args.ca_cert_file, encoding="utf-8") as file:
            config["ca_cert"] = file.read()
    if args.role_pattern:
        config["role_pattern"] = args.role_pattern
    return config, {"password": password}


def create(oblique: Clients, args: argparse.Namespace) -> integration_pb2.Integration:
    config, credentials = postgres_setup(args)
    request = integration_pb2.CreateIntegrationRequest(
        type="postgres",
        name=args.name,
        config=config,
        credentials=credentials,
        # A retry of this create (after a timeout, say) returns the first one's result.
        request_id=f"lifecycle-create-{args.name}",
    )
    integration, call = oblique.integrations.CreateIntegration.with_call(request, timeout=CALL_TIMEOUT_S)
    echoed = dict(call.initial_metadata()).get(REQUEST_ID, "?")
    if isinstance(echoed, bytes):
        echoed = echoed.decode()
    print(f"created integration {integration.name} ({integration.id}), request {echoed}")
    for warning in integration.warnings:
        print(f"  warning: {warning}")
    return integration


def watch_first_sync(oblique: Clients, integration: integration_pb2.Integration) -> None:
    run_id = integration.last_sync_run.id
    if not run_id:
        raise Failed("the new integration has no initial sync run")
    print(f"watching its first sync {run_id}")
    request = sync_pb2.WatchSyncRunRequest(run_id=run_id)
    finished: Optional[sync_pb2.SyncEvent] = None
    for event in oblique.sync.WatchSyncRun(request, timeout=SYNC_DEADLINE_S):
        words = [f"#{event.seq}", sync_pb2.SyncEventKind.Name(event.kind)[len("SYNC_EVENT_KIND_"):]]
        if event.phase:
            words.append(sync_pb2.SyncPhase.Name(event.phase)[len("SYNC_PHASE_"):])
        if event.kind == sync_pb2.SYNC_EVENT_KIND_PROGRESS:
            words.append(f"{event.processed}/{event.total}" if event.total else str(event.processed))
        if event.message:
            words.append(event.message)
        print("  " + " ".join(words))
        if event.kind == sync_pb2.SYNC_EVENT_KIND_FINISHED:
            finished = event
    if finished is None:
        raise Failed("the run's event stream ended before its FINISHED event")
    if finished.state != sync_pb2.SYNC_RUN_STATE_SUCCEEDED:
        state = sync_pb2.SyncRunState.Name(finished.state)
        raise Failed(f"the first sync ended {state}: {finished.message}")
    stats = finished.stats
    print(f"  synced {stats.accounts.created} accounts, {stats.resources.created} resources, "
          f"{stats.access.created} memberships")


def find_resource(oblique: Clients, integration_id: str, name: str) -> integration_pb2.Resource:
    request = integration_pb2.ListResourcesRequest(integration_id=integration_id, page_size=1000)
    while True:
        page = oblique.integrations.ListResources(request, timeout=CALL_TIMEOUT_S)
        for resource in page.resources:
            if resource.name == name:
                return resource
        if not page.next_page_token:
            raise Failed(f"no resource named {name!r} in the integration")
        request.page_token = page.next_page_token


def find_user(oblique: Clients, username: str) -> user_pb2.User:
    request = user_pb2.ListUsersRequest(query=username, page_size=1000)
    while True:
        page = oblique.users.ListUsers(request, timeout=CALL_TIMEOUT_S)
        for user in page.users:
            if user.username == username:
                return user
        if not page.next_page_token:
            raise Failed(f"no Oblique user with username {username!r}")
        request.page_token = page.next_page_token


def set_mode(oblique: Clients, resource: integration_pb2.Resource, mode: common_pb2.SyncMode.ValueType) -> None:
    request = integration_pb2.SetResourceSyncModeRequest(resource_id=resource.id, sync_mode=mode)
    oblique.integrations.SetResourceSyncMode(request, timeout=CALL_TIMEOUT_S)
    print(f"resource {resource.name} is now {common_pb2.SyncMode.Name(mode)}")


def grant_and_wait(oblique: Clients, resource: integration_pb2.Resource, user: user_pb2.User,
                   reason: str) -> access_pb2.Grant:
    grant = oblique.access.GrantAccess(
        access_pb2.GrantAccessRequest(resource_id=resource.id, user_id=user.id, reason=reason),
        timeout=CALL_TIMEOUT_S,
    )
    print(f"granted {user.username} access to {resource.name} (grant {grant.id}); waiting for the push")
    deadline = time.monotonic() + PUSH_DEADLINE_S
    while True:
        entries = oblique.access.ListAccess(
            access_pb2.ListAccessRequest(resource_id=resource.id, page_size=1000), timeout=CALL_TIMEOUT_S
        ).entries
        entry = next((e for e in entries if e.grant_id == grant.id), None)
        if entry is not None and entry.propagation_status == common_pb2.PROPAGATION_STATUS_IN_SYNC:
            print("  pushed: the remote has the membership")
            return grant
        if entry is not None and entry.propagation_status == common_pb2.PROPAGATION_STATUS_ERROR:
            raise Failed(f"the push failed: {entry.propagation_error}")
        if time.monotonic() > deadline:
            raise Failed(f"the grant was not pushed within {PUSH_DEADLINE_S:.0f} s")
        time.sleep(0.5)


def delete(oblique: Clients, integration_id: str, force: bool = False) -> None:
    request = integration_pb2.DeleteIntegrationRequest(id=integration_id, force=force)
    answer = oblique.integrations.DeleteIntegration(request, timeout=CALL_TIMEOUT_S)
    print(f"deleted integration {integration_id}: {answer.resources_soft_deleted} resources and "
          f"{answer.accounts_soft_deleted} accounts soft deleted")


def lifecycle(oblique: Clients, args: argparse.Namespace) -> None:
    integration = create(oblique, args)
    try:
        watch_first_sync(oblique, integration)
        resource = find_resource(oblique, integration.id, args.resource)
        user = find_user(oblique, args.user)
        set_mode(oblique, resource, common_pb2.SYNC_MODE_PUSH)
        grant_and_wait(oblique, resource, user, args.reason)
        # "Stop syncing" first, as recommended: deleting with push-mode resources needs force.
        set_mode(oblique, resource, common_pb2.SYNC_MODE_PULL)
        delete(oblique, integration.id)
    except BaseException:
        # Leave no half-made integration behind; the remote is never changed by a delete.
        try:
            delete(oblique, integration.id, force=True)
        except grpc.RpcError as error:
            print(f"cleanup failed too: {error.code().name}: {error.details()}", file=sys.stderr)
        raise


def main() -> int:
    args = parse_args()
    run = uuid.uuid4().hex[:8]
    counter = itertools.count(1)
    try:
        ca = None
        if args.ca_file:
            with open(args.ca_file, "rb") as file:
                ca = file.read()
        # Every call is logged by the server under lifecycle-<run>-<n>, and answered with it.
        with connect(args.server, read_token(args), root_certificates=ca,
                     new_request_id=lambda: f"lifecycle-{run}-{next(counter)}") as oblique:
            lifecycle(oblique, args)
    except grpc.RpcError as error:
        print(f"failed: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    except (Failed, OSError, ValueError) as error:
        print(f"failed: {error}", file=sys.stderr)
        return 1
    print("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
