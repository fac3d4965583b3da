import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from oblique_client.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccessSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_SOURCE_UNSPECIFIED: _ClassVar[AccessSource]
    ACCESS_SOURCE_REMOTE: _ClassVar[AccessSource]
    ACCESS_SOURCE_GRANT: _ClassVar[AccessSource]
    ACCESS_SOURCE_TEAM: _ClassVar[AccessSource]
    ACCESS_SOURCE_REMOTE_ADOPTED: _ClassVar[AccessSource]
ACCESS_SOURCE_UNSPECIFIED: AccessSource
ACCESS_SOURCE_REMOTE: AccessSource
ACCESS_SOURCE_GRANT: AccessSource
ACCESS_SOURCE_TEAM: AccessSource
ACCESS_SOURCE_REMOTE_ADOPTED: AccessSource

class Grant(_message.Message):
    __slots__ = ("id", "resource_id", "user_id", "reason", "granted_by", "granted_at", "expires_at", "revoked_at", "revoked_by", "revoke_reason", "propagation_status", "propagation_error", "propagation_attempts", "source")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    GRANTED_BY_FIELD_NUMBER: _ClassVar[int]
    GRANTED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_BY_FIELD_NUMBER: _ClassVar[int]
    REVOKE_REASON_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_ERROR_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    resource_id: str
    user_id: str
    reason: str
    granted_by: str
    granted_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    revoked_by: str
    revoke_reason: str
    propagation_status: _common_pb2.PropagationStatus
    propagation_error: str
    propagation_attempts: int
    source: AccessSource
    def __init__(self, id: _Optional[str] = ..., resource_id: _Optional[str] = ..., user_id: _Optional[str] = ..., reason: _Optional[str] = ..., granted_by: _Optional[str] = ..., granted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_by: _Optional[str] = ..., revoke_reason: _Optional[str] = ..., propagation_status: _Optional[_Union[_common_pb2.PropagationStatus, str]] = ..., propagation_error: _Optional[str] = ..., propagation_attempts: _Optional[int] = ..., source: _Optional[_Union[AccessSource, str]] = ...) -> None: ...

class AccessEntry(_message.Message):
    __slots__ = ("resource_id", "user_id", "account_id", "source", "propagation_status", "propagation_error", "propagation_attempts", "grant_id", "since")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_ERROR_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    user_id: str
    account_id: str
    source: AccessSource
    propagation_status: _common_pb2.PropagationStatus
    propagation_error: str
    propagation_attempts: int
    grant_id: str
    since: _timestamp_pb2.Timestamp
    def __init__(self, resource_id: _Optional[str] = ..., user_id: _Optional[str] = ..., account_id: _Optional[str] = ..., source: _Optional[_Union[AccessSource, str]] = ..., propagation_status: _Optional[_Union[_common_pb2.PropagationStatus, str]] = ..., propagation_error: _Optional[str] = ..., propagation_attempts: _Optional[int] = ..., grant_id: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GrantAccessRequest(_message.Message):
    __slots__ = ("resource_id", "user_id", "reason", "expires_at")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    user_id: str
    reason: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, resource_id: _Optional[str] = ..., user_id: _Optional[str] = ..., reason: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RevokeAccessRequest(_message.Message):
    __slots__ = ("grant_id", "reason")
    GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    grant_id: str
    reason: str
    def __init__(self, grant_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ListAccessRequest(_message.Message):
    __slots__ = ("resource_id", "user_id", "at", "page_size", "page_token")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    user_id: str
    at: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, resource_id: _Optional[str] = ..., user_id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAccessResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AccessEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[AccessEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AccessHistoryEntry(_message.Message):
    __slots__ = ("action", "at", "grant")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    action: str
    at: _timestamp_pb2.Timestamp
    grant: Grant
    def __init__(self, action: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., grant: _Optional[_Union[Grant, _Mapping]] = ...) -> None: ...

class ListAccessHistoryRequest(_message.Message):
    __slots__ = ("resource_id", "user_id", "page_size", "page_token")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    user_id: str
    page_size: int
    page_token: str
    def __init__(self, resource_id: _Optional[str] = ..., user_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAccessHistoryResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AccessHistoryEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[AccessHistoryEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
