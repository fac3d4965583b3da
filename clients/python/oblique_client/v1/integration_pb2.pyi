import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from oblique_client.v1 import common_pb2 as _common_pb2
from oblique_client.v1 import sync_pb2 as _sync_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IntegrationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTEGRATION_STATUS_UNSPECIFIED: _ClassVar[IntegrationStatus]
    INTEGRATION_STATUS_ACTIVE: _ClassVar[IntegrationStatus]
    INTEGRATION_STATUS_DELETED: _ClassVar[IntegrationStatus]
INTEGRATION_STATUS_UNSPECIFIED: IntegrationStatus
INTEGRATION_STATUS_ACTIVE: IntegrationStatus
INTEGRATION_STATUS_DELETED: IntegrationStatus

class IntegrationCapabilities(_message.Message):
    __slots__ = ("can_push", "can_create_resources")
    CAN_PUSH_FIELD_NUMBER: _ClassVar[int]
    CAN_CREATE_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    can_push: bool
    can_create_resources: bool
    def __init__(self, can_push: _Optional[bool] = ..., can_create_resources: _Optional[bool] = ...) -> None: ...

class SetupField(_message.Message):
    __slots__ = ("name", "description", "required", "secret", "default")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    required: bool
    secret: bool
    default: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., required: _Optional[bool] = ..., secret: _Optional[bool] = ..., default: _Optional[str] = ...) -> None: ...

class IntegrationType(_message.Message):
    __slots__ = ("name", "display_name", "capabilities", "setup_fields", "default_link_users_by")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    SETUP_FIELDS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_LINK_USERS_BY_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    capabilities: IntegrationCapabilities
    setup_fields: _containers.RepeatedCompositeFieldContainer[SetupField]
    default_link_users_by: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., capabilities: _Optional[_Union[IntegrationCapabilities, _Mapping]] = ..., setup_fields: _Optional[_Iterable[_Union[SetupField, _Mapping]]] = ..., default_link_users_by: _Optional[str] = ...) -> None: ...

class Integration(_message.Message):
    __slots__ = ("id", "type", "name", "status", "config", "credentials_set", "create_resources_for_new_teams", "sync_interval_seconds", "max_deletion_percent", "created_at", "updated_at", "deleted_at", "last_sync_run", "resource_count", "account_count", "credentials", "warnings", "link_users_by")
    class ConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class CredentialsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_SET_FIELD_NUMBER: _ClassVar[int]
    CREATE_RESOURCES_FOR_NEW_TEAMS_FIELD_NUMBER: _ClassVar[int]
    SYNC_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_DELETION_PERCENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    DELETED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_SYNC_RUN_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    LINK_USERS_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    name: str
    status: IntegrationStatus
    config: _containers.ScalarMap[str, str]
    credentials_set: bool
    create_resources_for_new_teams: bool
    sync_interval_seconds: int
    max_deletion_percent: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    deleted_at: _timestamp_pb2.Timestamp
    last_sync_run: _sync_pb2.SyncRun
    resource_count: int
    account_count: int
    credentials: _containers.ScalarMap[str, str]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    link_users_by: str
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[_Union[IntegrationStatus, str]] = ..., config: _Optional[_Mapping[str, str]] = ..., credentials_set: _Optional[bool] = ..., create_resources_for_new_teams: _Optional[bool] = ..., sync_interval_seconds: _Optional[int] = ..., max_deletion_percent: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deleted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_sync_run: _Optional[_Union[_sync_pb2.SyncRun, _Mapping]] = ..., resource_count: _Optional[int] = ..., account_count: _Optional[int] = ..., credentials: _Optional[_Mapping[str, str]] = ..., warnings: _Optional[_Iterable[str]] = ..., link_users_by: _Optional[str] = ...) -> None: ...

class Resource(_message.Message):
    __slots__ = ("id", "integration_id", "external_id", "resource_type", "name", "description", "sync_mode", "deleted", "deleted_at", "last_synced_at", "propagation_status", "propagation_error", "team_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    INTEGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SYNC_MODE_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    DELETED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_SYNCED_AT_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_ERROR_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    integration_id: str
    external_id: str
    resource_type: str
    name: str
    description: str
    sync_mode: _common_pb2.SyncMode
    deleted: bool
    deleted_at: _timestamp_pb2.Timestamp
    last_synced_at: _timestamp_pb2.Timestamp
    propagation_status: _common_pb2.PropagationStatus
    propagation_error: str
    team_id: str
    def __init__(self, id: _Optional[str] = ..., integration_id: _Optional[str] = ..., external_id: _Optional[str] = ..., resource_type: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., sync_mode: _Optional[_Union[_common_pb2.SyncMode, str]] = ..., deleted: _Optional[bool] = ..., deleted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_synced_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., propagation_status: _Optional[_Union[_common_pb2.PropagationStatus, str]] = ..., propagation_error: _Optional[str] = ..., team_id: _Optional[str] = ...) -> None: ...

class UserAttribute(_message.Message):
    __slots__ = ("name", "values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("id", "integration_id", "external_id", "username", "email", "display_name", "user_id", "attributes", "deleted", "deleted_at", "last_synced_at", "link_conflict")
    ID_FIELD_NUMBER: _ClassVar[int]
    INTEGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    DELETED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_SYNCED_AT_FIELD_NUMBER: _ClassVar[int]
    LINK_CONFLICT_FIELD_NUMBER: _ClassVar[int]
    id: str
    integration_id: str
    external_id: str
    username: str
    email: str
    display_name: str
    user_id: str
    attributes: _containers.RepeatedCompositeFieldContainer[UserAttribute]
    deleted: bool
    deleted_at: _timestamp_pb2.Timestamp
    last_synced_at: _timestamp_pb2.Timestamp
    link_conflict: str
    def __init__(self, id: _Optional[str] = ..., integration_id: _Optional[str] = ..., external_id: _Optional[str] = ..., username: _Optional[str] = ..., email: _Optional[str] = ..., display_name: _Optional[str] = ..., user_id: _Optional[str] = ..., attributes: _Optional[_Iterable[_Union[UserAttribute, _Mapping]]] = ..., deleted: _Optional[bool] = ..., deleted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_synced_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., link_conflict: _Optional[str] = ...) -> None: ...

class AuditActor(_message.Message):
    __slots__ = ("name", "role")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: str
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ("id", "at", "actor", "action", "integration_id", "resource_id", "details")
    ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    INTEGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    id: str
    at: _timestamp_pb2.Timestamp
    actor: AuditActor
    action: str
    integration_id: str
    resource_id: str
    details: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[_Union[AuditActor, _Mapping]] = ..., action: _Optional[str] = ..., integration_id: _Optional[str] = ..., resource_id: _Optional[str] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListIntegrationTypesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListIntegrationTypesResponse(_message.Message):
    __slots__ = ("types",)
    TYPES_FIELD_NUMBER: _ClassVar[int]
    types: _containers.RepeatedCompositeFieldContainer[IntegrationType]
    def __init__(self, types: _Optional[_Iterable[_Union[IntegrationType, _Mapping]]] = ...) -> None: ...

class CreateIntegrationRequest(_message.Message):
    __slots__ = ("type", "name", "config", "credentials", "create_resources_for_new_teams", "sync_interval_seconds", "request_id", "max_deletion_percent", "link_users_by")
    class ConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class CredentialsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    CREATE_RESOURCES_FOR_NEW_TEAMS_FIELD_NUMBER: _ClassVar[int]
    SYNC_INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_DELETION_PERCENT_FIELD_NUMBER: _ClassVar[int]
    LINK_USERS_BY_FIELD_NUMBER: _ClassVar[int]
    type: str
    name: str
    config: _containers.ScalarMap[str, str]
    credentials: _containers.ScalarMap[str, str]
    create_resources_for_new_teams: bool
    sync_interval_seconds: int
    request_id: str
    max_deletion_percent: int
    link_users_by: str
    def __init__(self, type: _Optional[str] = ..., name: _Optional[str] = ..., config: _Optional[_Mapping[str, str]] = ..., credentials: _Optional[_Mapping[str, str]] = ..., create_resources_for_new_teams: _Optional[bool] = ..., sync_interval_seconds: _Optional[int] = ..., request_id: _Optional[str] = ..., max_deletion_percent: _Optional[int] = ..., link_users_by: _Optional[str] = ...) -> None: ...

class GetIntegrationRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListIntegrationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "include_deleted")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DELETED_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    include_deleted: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., include_deleted: _Optional[bool] = ...) -> None: ...

class ListIntegrationsResponse(_message.Message):
    __slots__ = ("integrations", "next_page_token")
    INTEGRATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    integrations: _containers.RepeatedCompositeFieldContainer[Integration]
    next_page_token: str
    def __init__(self, integrations: _Optional[_Iterable[_Union[Integration, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateIntegrationRequest(_message.Message):
    __slots__ = ("integration", "update_mask")
    INTEGRATION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    integration: Integration
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, integration: _Optional[_Union[Integration, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteIntegrationRequest(_message.Message):
    __slots__ = ("id", "force")
    ID_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    force: bool
    def __init__(self, id: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class DeleteIntegrationResponse(_message.Message):
    __slots__ = ("resources_soft_deleted", "cancelled_run_id", "accounts_soft_deleted", "integration")
    RESOURCES_SOFT_DELETED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_SOFT_DELETED_FIELD_NUMBER: _ClassVar[int]
    INTEGRATION_FIELD_NUMBER: _ClassVar[int]
    resources_soft_deleted: int
    cancelled_run_id: str
    accounts_soft_deleted: int
    integration: Integration
    def __init__(self, resources_soft_deleted: _Optional[int] = ..., cancelled_run_id: _Optional[str] = ..., accounts_soft_deleted: _Optional[int] = ..., integration: _Optional[_Union[Integration, _Mapping]] = ...) -> None: ...

class ListResourcesRequest(_message.Message):
    __slots__ = ("integration_id", "page_size", "page_token", "include_deleted")
    INTEGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DELETED_FIELD_NUMBER: _ClassVar[int]
    integration_id: str
    page_size: int
    page_token: str
    include_deleted: bool
    def __init__(self, integration_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., include_deleted: _Optional[bool] = ...) -> None: ...

class ListResourcesResponse(_message.Message):
    __slots__ = ("resources", "next_page_token")
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    resources: _containers.RepeatedCompositeFieldContainer[Resource]
    next_page_token: str
    def __init__(self, resources: _Optional[_Iterable[_Union[Resource, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetResourceRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class SetResourceSyncModeRequest(_message.Message):
    __slots__ = ("resource_id", "sync_mode")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    SYNC_MODE_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    sync_mode: _common_pb2.SyncMode
    def __init__(self, resource_id: _Optional[str] = ..., sync_mode: _Optional[_Union[_common_pb2.SyncMode, str]] = ...) -> None: ...

class ListAccountsRequest(_message.Message):
    __slots__ = ("integration_id", "page_size", "page_token", "include_deleted")
    INTEGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DELETED_FIELD_NUMBER: _ClassVar[int]
    integration_id: str
    page_size: int
    page_token: str
    include_deleted: bool
    def __init__(self, integration_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., include_deleted: _Optional[bool] = ...) -> None: ...

class ListAccountsResponse(_message.Message):
    __slots__ = ("accounts", "next_page_token")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[Account]
    next_page_token: str
    def __init__(self, accounts: _Optional[_Iterable[_Union[Account, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ("integration_id", "resource_id", "actor", "since", "page_size", "page_token", "action")
    INTEGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    integration_id: str
    resource_id: str
    actor: str
    since: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    action: str
    def __init__(self, integration_id: _Optional[str] = ..., resource_id: _Optional[str] = ..., actor: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., action: _Optional[str] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
