// A second, independent SCIM 2.0 service for Oblique's tests (crates/testkit/src/scim.rs):
// SCIMMY parses, filters, patches and pages; this file only keeps Users and Groups in memory.
// Usage: node server.mjs PORT TOKEN; serves http://127.0.0.1:PORT/scim/v2, bearer TOKEN only.
//
// express 4, not 5: scimmy-routers turns startIndex and count into numbers by assigning to
// req.query, which express 5 re-parses on every read (paging would be ignored).
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";
import {randomUUID} from "node:crypto";

const [port, token] = process.argv.slice(2);
const stores = {User: new Map(), Group: new Map()};

SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false);
for (const kind of ["User", "Group"]) {
    const store = stores[kind];
    SCIMMY.Resources.declare(SCIMMY.Resources[kind])
        .egress((resource) => {
            if (resource.id) {
                const found = store.get(resource.id);
                if (!found) throw new SCIMMY.Types.Error(404, null, `${kind} ${resource.id} not found`);
                return found;
            }
            const all = [...store.values()];
            return resource.filter ? resource.filter.match(all) : all;
        })
        .ingress((resource, instance) => {
            if (resource.id && !store.has(resource.id))
                throw new SCIMMY.Types.Error(404, null, `${kind} ${resource.id} not found`);
            const unique = kind === "User" ? "userName" : "displayName";
            for (const other of store.values()) {
                if (other.id !== resource.id && other[unique].toLowerCase() === instance[unique].toLowerCase())
                    throw new SCIMMY.Types.Error(409, "uniqueness", `${unique} is taken`);
            }
            const id = resource.id ?? randomUUID();
            const now = new Date();
            const created = store.get(id)?.meta?.created ?? now;
            const record = {...instance, id, meta: {created, lastModified: now}};
            store.set(id, record);
            return record;
        })
        .degress((resource) => {
            store.delete(resource.id);
        });
}

const app = express();
app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    docUri: "https://github.com/scimmyjs/scimmy",
    handler: (request) => {
        if (request.header("Authorization") !== `Bearer ${token}`) throw new Error("Authorization failure");
        return "oblique-tests";
    },
}));
app.listen(Number(port), "127.0.0.1", () => console.log(`listening on ${port}`));
