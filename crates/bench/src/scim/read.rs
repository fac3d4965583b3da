//! The read half of the SCIM floor: every user and group, the plainest way a client can ask
//! for them: a loop of paged GETs (RFC 7644, 3.4.2.4) with the connector's page size, each body
//! parsed as JSON and dropped.

use oblique_testkit::scim::ScimAdmin;

use super::PAGE_SIZE;

/// Reads /Users and /Groups to their end; answers the users, groups and memberships read.
pub async fn read_all(admin: &ScimAdmin) -> anyhow::Result<(u64, u64, u64)> {
    let (users, _) = read_collection(admin, "Users", "&excludedAttributes=groups").await?;
    let (groups, members) = read_collection(admin, "Groups", "").await?;
    Ok((users, groups, members))
}

/// Pages through one collection: resources read and the members they hold.
async fn read_collection(
    admin: &ScimAdmin,
    collection: &str,
    extra: &str,
) -> anyhow::Result<(u64, u64)> {
    let (mut start, mut resources, mut members) = (1u64, 0u64, 0u64);
    loop {
        let path = format!("{collection}?startIndex={start}&count={PAGE_SIZE}{extra}");
        let page = admin.request(reqwest::Method::GET, &path, None).await?;
        let got = page["Resources"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if got.is_empty() {
            break;
        }
        resources += got.len() as u64;
        members += got
            .iter()
            .map(|r| r["members"].as_array().map_or(0, Vec::len) as u64)
            .sum::<u64>();
        start += got.len() as u64;
        if page["totalResults"]
            .as_u64()
            .is_some_and(|total| start > total)
        {
            break;
        }
    }
    Ok((resources, members))
}
