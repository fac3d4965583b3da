//! Reading SCIM resources (RFC 7643) into accounts, resources and access, without trusting
//! their shape: whatever JSON a service sends is an object or that object's sync error.
//!
//! Attribute names are matched case-insensitively, as RFC 7643 (2.1) says they are.

use serde_json::{Map, Value};

use crate::connectors::{Listed, ObjectProblem, RemoteAccess, RemoteAccount, RemoteResource};
use crate::model::ResourceType;

/// The enterprise user extension (RFC 7643, 4.3).
pub(super) const ENTERPRISE_USER: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// `name` of `object`: the exact key, else the first that differs only in case.
fn get<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// A single value as text: strings as they are, numbers and booleans written out; `null` and
/// absent are `None`. A list or an object where one value belongs is an error naming `path`.
fn text(value: Option<&Value>, path: &str) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
        Some(_) => Err(format!("attribute {path} is not a single value")),
    }
}

/// A resource's `id`: the external id. Numbers are accepted as text (some services number
/// their resources); an empty id would make every such resource one and the same.
fn id(object: &Map<String, Value>) -> Option<String> {
    text(get(object, "id"), "id")
        .ok()
        .flatten()
        .filter(|id| !id.trim().is_empty())
}

fn problem(kind: &str, collection: &str, id: Option<String>, message: String) -> ObjectProblem {
    let object = match &id {
        Some(id) => format!("{kind}:{collection}/{id}"),
        None => format!("{kind}:{collection} (a resource without an id)"),
    };
    ObjectProblem {
        external_id: id,
        object,
        message,
    }
}

/// A `/Users` resource as an account: external id `id`, username `userName`, email the
/// primary `emails` value (else the first), and the attributes README lists.
pub(super) fn account(resource: &Value) -> Listed<RemoteAccount> {
    let Some(user) = resource.as_object() else {
        return Err(problem(
            "account",
            "Users",
            None,
            "is not a JSON object".into(),
        ));
    };
    let external_id = id(user);
    let fail = |message: String| problem("account", "Users", external_id.clone(), message);
    let Some(external_id) = external_id.clone() else {
        return Err(fail("has no id".into()));
    };
    let username = text(get(user, "userName"), "userName")
        .map_err(&fail)?
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| fail("has no userName".into()))?;
    let email = primary_email(user).map_err(&fail)?;
    let name = match get(user, "name") {
        None | Some(Value::Null) => None,
        Some(Value::Object(name)) => Some(name),
        Some(_) => return Err(fail("attribute name is not a complex value".into())),
    };
    let enterprise = match get(user, ENTERPRISE_USER) {
        None | Some(Value::Null) => None,
        Some(Value::Object(extension)) => Some(extension),
        Some(_) => return Err(fail(format!("{ENTERPRISE_USER} is not a complex value"))),
    };
    let manager = match enterprise.and_then(|e| get(e, "manager")) {
        None | Some(Value::Null) => None,
        Some(Value::Object(manager)) => Some(manager),
        Some(_) => return Err(fail("attribute manager is not a complex value".into())),
    };
    let empty = Map::new();
    let (name, enterprise, manager) = (
        name.unwrap_or(&empty),
        enterprise.unwrap_or(&empty),
        manager.unwrap_or(&empty),
    );
    // Named by their SCIM paths, the extension's URN left out.
    let sources = [
        ("displayName", user, "displayName"),
        ("name.givenName", name, "givenName"),
        ("name.familyName", name, "familyName"),
        ("title", user, "title"),
        ("active", user, "active"),
        ("externalId", user, "externalId"),
        ("employeeNumber", enterprise, "employeeNumber"),
        ("department", enterprise, "department"),
        ("manager.value", manager, "value"),
    ];
    let mut attributes = Vec::new();
    for (path, object, key) in sources {
        if let Some(value) = text(get(object, key), path).map_err(&fail)? {
            attributes.push((path.to_string(), vec![value]));
        }
    }
    let attribute = |path: &str| {
        attributes
            .iter()
            .find(|(known, _)| known == path)
            .map(|(_, values)| values[0].trim().to_string())
            .filter(|value| !value.is_empty())
    };
    let formatted = text(get(name, "formatted"), "name.formatted")
        .ok()
        .flatten()
        .filter(|value| !value.trim().is_empty());
    let given_and_family = [attribute("name.givenName"), attribute("name.familyName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let display_name = attribute("displayName")
        .or(formatted)
        .or_else(|| Some(given_and_family).filter(|joined| !joined.is_empty()))
        .unwrap_or_else(|| username.clone());
    Ok(RemoteAccount {
        member_names: Vec::new(),
        external_id,
        username,
        email,
        display_name,
        attributes,
    })
}

/// The `emails` value marked primary, else the first one.
fn primary_email(user: &Map<String, Value>) -> Result<Option<String>, String> {
    let emails = match get(user, "emails") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(emails)) => emails,
        Some(_) => return Err("attribute emails is not a list".into()),
    };
    let mut first = None;
    for email in emails {
        let Some(email) = email.as_object() else {
            return Err("an emails value is not a complex value".into());
        };
        let Some(value) =
            text(get(email, "value"), "emails.value")?.filter(|value| !value.trim().is_empty())
        else {
            continue;
        };
        let primary = matches!(get(email, "primary"), Some(Value::Bool(true)))
            || matches!(get(email, "primary"), Some(Value::String(s)) if s.eq_ignore_ascii_case("true"));
        if primary {
            return Ok(Some(value));
        }
        first.get_or_insert(value);
    }
    Ok(first)
}

/// A `/Groups` resource as a resource of type `group`, named by its `displayName`.
pub(super) fn group(resource: &Value) -> Listed<RemoteResource> {
    let Some(group) = resource.as_object() else {
        return Err(problem(
            "resource",
            "Groups",
            None,
            "is not a JSON object".into(),
        ));
    };
    let external_id = id(group);
    let fail = |message: String| problem("resource", "Groups", external_id.clone(), message);
    let Some(external_id) = external_id.clone() else {
        return Err(fail("has no id".into()));
    };
    let name = text(get(group, "displayName"), "displayName")
        .map_err(&fail)?
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| fail("has no displayName".into()))?;
    Ok(RemoteResource {
        member_names: Vec::new(),
        external_id,
        resource_type: ResourceType::Group,
        name,
        description: String::new(),
    })
}

/// A group's `members` as access pairs, into `out`. Members whose `type` is not `User` (nested
/// groups) are skipped, as are those whose `$ref` points into `/Groups`; a member without a
/// `value` is a problem of the group's.
pub(super) fn memberships(resource: &Value, out: &mut Vec<Listed<RemoteAccess>>) {
    // A group the resources listing could not read was reported there.
    let Some(group) = resource.as_object() else {
        return;
    };
    let Some(group_id) = id(group) else {
        return;
    };
    let fail = |message: &str| problem("access", "Groups", Some(group_id.clone()), message.into());
    let members = match get(group, "members") {
        None | Some(Value::Null) => return,
        Some(Value::Array(members)) => members,
        Some(_) => return out.push(Err(fail("attribute members is not a list"))),
    };
    for member in members {
        let Some(member) = member.as_object() else {
            out.push(Err(fail("a members value is not a complex value")));
            continue;
        };
        let kind = text(get(member, "type"), "members.type").ok().flatten();
        if kind.is_some_and(|kind| !kind.eq_ignore_ascii_case("User")) {
            continue;
        }
        let reference = text(get(member, "$ref"), "members.$ref").ok().flatten();
        if reference.is_some_and(|r| r.contains("/Groups/")) {
            continue;
        }
        match text(get(member, "value"), "members.value") {
            Ok(Some(account)) if !account.trim().is_empty() => out.push(Ok(RemoteAccess {
                resource_external_id: group_id.clone(),
                account_external_id: account,
                by_member_name: false,
                inherited: false,
            })),
            Ok(_) => out.push(Err(fail("a member has no value"))),
            Err(message) => out.push(Err(fail(&message))),
        }
    }
}

#[cfg(test)]
mod tests;
