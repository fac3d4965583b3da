//! The typed values of the model to and from their proto enums: the only place they meet.
//! A proto enum's zero value (`*_UNSPECIFIED`), or a number this build does not know, is
//! INVALID_ARGUMENT naming the field.

use crate::error::{AppError, AppResult};
use crate::model::{PropagationStatus, SyncMode};
use crate::pb;

pub fn sync_mode(mode: SyncMode) -> pb::SyncMode {
    match mode {
        SyncMode::Pull => pb::SyncMode::Pull,
        SyncMode::Push => pb::SyncMode::Push,
    }
}

pub fn sync_mode_from_proto(field: &str, value: i32) -> AppResult<SyncMode> {
    match pb::SyncMode::try_from(value) {
        Ok(pb::SyncMode::Pull) => Ok(SyncMode::Pull),
        Ok(pb::SyncMode::Push) => Ok(SyncMode::Push),
        Ok(pb::SyncMode::Unspecified) | Err(_) => Err(AppError::invalid(
            field,
            "must be SYNC_MODE_PULL or SYNC_MODE_PUSH",
        )),
    }
}

pub fn propagation_status(status: PropagationStatus) -> pb::PropagationStatus {
    match status {
        PropagationStatus::Pending => pb::PropagationStatus::Pending,
        PropagationStatus::InSync => pb::PropagationStatus::InSync,
        PropagationStatus::Error => pb::PropagationStatus::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_modes_round_trip_and_unspecified_names_the_field() {
        for mode in SyncMode::ALL {
            assert_eq!(
                sync_mode_from_proto("sync_mode", sync_mode(*mode).into()).unwrap(),
                *mode
            );
        }
        for value in [pb::SyncMode::Unspecified as i32, 99] {
            let error = sync_mode_from_proto("sync_mode", value).unwrap_err();
            assert!(error.to_string().starts_with("sync_mode: "), "{error}");
        }
    }

    #[test]
    fn every_propagation_status_has_its_own_proto_value() {
        let mut seen: Vec<_> = PropagationStatus::ALL
            .iter()
            .map(|status| propagation_status(*status))
            .collect();
        seen.dedup();
        assert_eq!(seen.len(), PropagationStatus::ALL.len());
        assert!(!seen.contains(&pb::PropagationStatus::Unspecified));
    }
}
