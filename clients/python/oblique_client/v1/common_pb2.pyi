from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class SyncMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SYNC_MODE_UNSPECIFIED: _ClassVar[SyncMode]
    SYNC_MODE_PULL: _ClassVar[SyncMode]
    SYNC_MODE_PUSH: _ClassVar[SyncMode]

class PropagationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROPAGATION_STATUS_UNSPECIFIED: _ClassVar[PropagationStatus]
    PROPAGATION_STATUS_IN_SYNC: _ClassVar[PropagationStatus]
    PROPAGATION_STATUS_PENDING: _ClassVar[PropagationStatus]
    PROPAGATION_STATUS_ERROR: _ClassVar[PropagationStatus]
SYNC_MODE_UNSPECIFIED: SyncMode
SYNC_MODE_PULL: SyncMode
SYNC_MODE_PUSH: SyncMode
PROPAGATION_STATUS_UNSPECIFIED: PropagationStatus
PROPAGATION_STATUS_IN_SYNC: PropagationStatus
PROPAGATION_STATUS_PENDING: PropagationStatus
PROPAGATION_STATUS_ERROR: PropagationStatus
