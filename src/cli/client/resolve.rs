//! An integration named on the command line by its id or by its name: an id is asked for
//! directly, a name is looked up among the active integrations, and a name that matches none
//! or several is an error that says which.

use anyhow::bail;

use super::connection::Calls;
use super::failure::Answer;
use crate::pb;

/// Integrations asked for per page when listing them all.
const PAGE_SIZE: i32 = 200;

/// Every integration, page after page (deleted ones too when asked).
pub async fn all_integrations(
    calls: &Calls,
    include_deleted: bool,
) -> anyhow::Result<Vec<pb::Integration>> {
    let mut integrations = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = calls
            .integrations
            .clone()
            .list_integrations(pb::ListIntegrationsRequest {
                page_size: PAGE_SIZE,
                page_token,
                include_deleted,
            })
            .await
            .answer("listing integrations")?;
        integrations.extend(page.integrations);
        if page.next_page_token.is_empty() {
            return Ok(integrations);
        }
        page_token = page.next_page_token;
    }
}

/// The integration `reference` names: by id when it is a UUID, else by name.
pub async fn integration(calls: &Calls, reference: &str) -> anyhow::Result<pb::Integration> {
    if uuid::Uuid::parse_str(reference).is_ok() {
        return calls
            .integrations
            .clone()
            .get_integration(pb::GetIntegrationRequest {
                id: reference.to_string(),
            })
            .await
            .answer(&format!("getting integration {reference}"));
    }
    let all = all_integrations(calls, false).await?;
    one_named(reference, all)
}

/// The one integration called `name` of `integrations`.
fn one_named(name: &str, integrations: Vec<pb::Integration>) -> anyhow::Result<pb::Integration> {
    let mut named: Vec<pb::Integration> = integrations
        .into_iter()
        .filter(|integration| integration.name == name)
        .collect();
    match named.len() {
        1 => Ok(named.remove(0)),
        0 => bail!("no integration is named {name:?} (`oblique integrations list` shows them)"),
        _ => bail!(
            "{} integrations are named {name:?}: name one by its id ({})",
            named.len(),
            named
                .iter()
                .map(|integration| integration.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(id: &str, name: &str) -> pb::Integration {
        pb::Integration {
            id: id.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_name_must_match_exactly_one() {
        let all = vec![named("1", "hr"), named("2", "crm"), named("3", "crm")];
        assert_eq!(one_named("hr", all.clone()).unwrap().id, "1");
        let unknown = one_named("erp", all.clone()).unwrap_err().to_string();
        assert!(
            unknown.contains("no integration is named \"erp\""),
            "{unknown}"
        );
        let ambiguous = one_named("crm", all).unwrap_err().to_string();
        assert!(
            ambiguous.contains("2 integrations") && ambiguous.contains("2, 3"),
            "{ambiguous}"
        );
    }
}
