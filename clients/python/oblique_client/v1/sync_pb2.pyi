import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SyncTrigger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SYNC_TRIGGER_UNSPECIFIED: _ClassVar[SyncTrigger]
    SYNC_TRIGGER_CREATED: _ClassVar[SyncTrigger]
    SYNC_TRIGGER_SCHEDULED: _ClassVar[SyncTrigger]
    SYNC_TRIGGER_MANUAL: _ClassVar[SyncTrigger]
    SYNC_TRIGGER_TEAM: _ClassVar[SyncTrigger]
    SYNC_TRIGGER_GRANT: _ClassVar[SyncTrigger]

class SyncRunState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SYNC_RUN_STATE_UNSPECIFIED: _ClassVar[SyncRunState]
    SYNC_RUN_STATE_QUEUED: _ClassVar[SyncRunState]
    SYNC_RUN_STATE_RUNNING: _ClassVar[SyncRunState]
    SYNC_RUN_STATE_SUCCEEDED: _ClassVar[SyncRunState]
    SYNC_RUN_STATE_FAILED: _ClassVar[SyncRunState]
    SYNC_RUN_STATE_CANCELLED: _ClassVar[SyncRunState]

class SyncPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SYNC_PHASE_UNSPECIFIED: _ClassVar[SyncPhase]
    SYNC_PHASE_ACCOUNTS: _ClassVar[SyncPhase]
    SYNC_PHASE_RESOURCES: _ClassVar[SyncPhase]
    SYNC_PHASE_ACCESS: _ClassVar[SyncPhase]
    SYNC_PHASE_PUSH: _ClassVar[SyncPhase]

class SyncEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SYNC_EVENT_KIND_UNSPECIFIED: _ClassVar[SyncEventKind]
    SYNC_EVENT_KIND_STATE_CHANGED: _ClassVar[SyncEventKind]
    SYNC_EVENT_KIND_PHASE_STARTED: _ClassVar[SyncEventKind]
    SYNC_EVENT_KIND_PROGRESS: _ClassVar[SyncEventKind]
    SYNC_EVENT_KIND_WARNING: _ClassVar[SyncEventKind]
    SYNC_EVENT_KIND_PHASE_FINISHED: _ClassVar[SyncEventKind]
    SYNC_EVENT_KIND_FINISHED: _ClassVar[SyncEventKind]
SYNC_TRIGGER_UNSPECIFIED: SyncTrigger
SYNC_TRIGGER_CREATED: SyncTrigger
SYNC_TRIGGER_SCHEDULED: SyncTrigger
SYNC_TRIGGER_MANUAL: SyncTrigger
SYNC_TRIGGER_TEAM: SyncTrigger
SYNC_TRIGGER_GRANT: SyncTrigger
SYNC_RUN_STATE_UNSPECIFIED: SyncRunState
SYNC_RUN_STATE_QUEUED: SyncRunState
SYNC_RUN_STATE_RUNNING: SyncRunState
SYNC_RUN_STATE_SUCCEEDED: SyncRunState
SYNC_RUN_STATE_FAILED: SyncRunState
SYNC_RUN_STATE_CANCELLED: SyncRunState
SYNC_PHASE_UNSPECIFIED: SyncPhase
SYNC_PHASE_ACCOUNTS: SyncPhase
SYNC_PHASE_RESOURCES: SyncPhase
SYNC_PHASE_ACCESS: SyncPhase
SYNC_PHASE_PUSH: SyncPhase
SYNC_EVENT_KIND_UNSPECIFIED: SyncEventKind
SYNC_EVENT_KIND_STATE_CHANGED: SyncEventKind
SYNC_EVENT_KIND_PHASE_STARTED: SyncEventKind
SYNC_EVENT_KIND_PROGRESS: SyncEventKind
SYNC_EVENT_KIND_WARNING: SyncEventKind
SYNC_EVENT_KIND_PHASE_FINISHED: SyncEventKind
SYNC_EVENT_KIND_FINISHED: SyncEventKind

class ChangeCounts(_message.Message):
    __slots__ = ("created", "updated", "deleted", "unchanged")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    created: int
    updated: int
    deleted: int
    unchanged: int
    def __init__(self, created: _Optional[int] = ..., updated: _Optional[int] = ..., deleted: _Optional[int] = ..., unchanged: _Optional[int] = ...) -> None: ...

class SyncStats(_message.Message):
    __slots__ = ("accounts", "attributes", "resources", "access", "errors", "push")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    PUSH_FIELD_NUMBER: _ClassVar[int]
    accounts: ChangeCounts
    attributes: ChangeCounts
    resources: ChangeCounts
    access: ChangeCounts
    errors: int
    push: ChangeCounts
    def __init__(self, accounts: _Optional[_Union[ChangeCounts, _Mapping]] = ..., attributes: _Optional[_Union[ChangeCounts, _Mapping]] = ..., resources: _Optional[_Union[ChangeCounts, _Mapping]] = ..., access: _Optional[_Union[ChangeCounts, _Mapping]] = ..., errors: _Optional[int] = ..., push: _Optional[_Union[ChangeCounts, _Mapping]] = ...) -> None: ...

class SyncRun(_message.Message):
    __slots__ = ("id", "integration_id", "trigger", "state", "phase", "stats", "error", "dry_run", "requested_by", "created_at", "started_at", "finished_at", "allow_mass_deletion")
    ID_FIELD_NUMBER: _ClassVar[int]
    INTEGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ALLOW_MASS_DELETION_FIELD_NUMBER: _ClassVar[int]
    id: str
    integration_id: str
    trigger: SyncTrigger
    state: SyncRunState
    phase: SyncPhase
    stats: SyncStats
    error: str
    dry_run: bool
    requested_by: str
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    allow_mass_deletion: bool
    def __init__(self, id: _Optional[str] = ..., integration_id: _Optional[str] = ..., trigger: _Optional[_Union[SyncTrigger, str]] = ..., state: _Optional[_Union[SyncRunState, str]] = ..., phase: _Optional[_Union[SyncPhase, str]] = ..., stats: _Optional[_Union[SyncStats, _Mapping]] = ..., error: _Optional[str] = ..., dry_run: _Optional[bool] = ..., requested_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., allow_mass_deletion: _Optional[bool] = ...) -> None: ...

class SyncEvent(_message.Message):
    __slots__ = ("run_id", "integration_id", "seq", "at", "kind", "phase", "processed", "total", "stats", "state", "message")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    INTEGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    integration_id: str
    seq: int
    at: _timestamp_pb2.Timestamp
    kind: SyncEventKind
    phase: SyncPhase
    processed: int
    total: int
    stats: SyncStats
    state: SyncRunState
    message: str
    def __init__(self, run_id: _Optional[str] = ..., integration_id: _Optional[str] = ..., seq: _Optional[int] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[SyncEventKind, str]] = ..., phase: _Optional[_Union[SyncPhase, str]] = ..., processed: _Optional[int] = ..., total: _Optional[int] = ..., stats: _Optional[_Union[SyncStats, _Mapping]] = ..., state: _Optional[_Union[SyncRunState, str]] = ..., message: _Optional[str] = ...) -> None: ...

class SyncError(_message.Message):
    __slots__ = ("object", "message", "first_seen", "last_seen", "count")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    object: str
    message: str
    first_seen: _timestamp_pb2.Timestamp
    last_seen: _timestamp_pb2.Timestamp
    count: int
    def __init__(self, object: _Optional[str] = ..., message: _Optional[str] = ..., first_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., count: _Optional[int] = ...) -> None: ...

class TriggerSyncRequest(_message.Message):
    __slots__ = ("integration_id", "dry_run", "allow_mass_deletion")
    INTEGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    ALLOW_MASS_DELETION_FIELD_NUMBER: _ClassVar[int]
    integration_id: str
    dry_run: bool
    allow_mass_deletion: bool
    def __init__(self, integration_id: _Optional[str] = ..., dry_run: _Optional[bool] = ..., allow_mass_deletion: _Optional[bool] = ...) -> None: ...

class GetSyncRunRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListSyncRunsRequest(_message.Message):
    __slots__ = ("integration_id", "page_size", "page_token")
    INTEGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    integration_id: str
    page_size: int
    page_token: str
    def __init__(self, integration_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSyncRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[SyncRun]
    next_page_token: str
    def __init__(self, runs: _Optional[_Iterable[_Union[SyncRun, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelSyncRunRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListSyncErrorsRequest(_message.Message):
    __slots__ = ("integration_id", "page_size", "page_token")
    INTEGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    integration_id: str
    page_size: int
    page_token: str
    def __init__(self, integration_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSyncErrorsResponse(_message.Message):
    __slots__ = ("errors", "next_page_token")
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    errors: _containers.RepeatedCompositeFieldContainer[SyncError]
    next_page_token: str
    def __init__(self, errors: _Optional[_Iterable[_Union[SyncError, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchSyncRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class SubscribeSyncEventsRequest(_message.Message):
    __slots__ = ("integration_id",)
    INTEGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    integration_id: str
    def __init__(self, integration_id: _Optional[str] = ...) -> None: ...
