// Session content through the object API: records read and matched against the content policies,
// checked against the session, and stored beside it in its partition
// (search/partitioned_store.hpp).
#include "api/content_body.hpp"
#include "api/v2/object_api.hpp"
#include "api/v2/object_rules.hpp"
#include "core/time.hpp"
#include "ingest/policy_set.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace audex::api {

object_api::session_content object_api::prepare_content(const auth::principal& who,
                                                        std::uint64_t session,
                                                        std::string_view body, bool ndjson) {
    auto out = parse_session_content(who, session, body, ndjson);
    out.partition = partition_of(objects_.env().read(), session);
    return out;
}

object_api::session_content object_api::parse_session_content(const auth::principal& who,
                                                              std::uint64_t session,
                                                              std::string_view body,
                                                              bool ndjson) const {
    require(who, auth::capability::ingest);
    session_content out;
    out.who = who;
    out.session = session;
    out.records = parse_content(body, ndjson);
    for (auto& r : out.records)
        r.session = session;
    out.alerts = policies_.match(out.records);
    return out;
}

search::partitioned_store::handle object_api::partition_of(const store::transaction& catalog,
                                                           std::uint64_t session) const {
    auto at = partitions_.locate(catalog, session);
    if (!at) fail(api_error::not_found("no session " + std::to_string(session)));
    return at->partition;
}

void object_api::check_takes_content(const store::transaction& catalog,
                                     const std::optional<json::object>& s,
                                     const session_content& content) const {
    auto id = content.session;
    if (!s) fail(api_error::not_found("no session " + std::to_string(id)));
    if (is_removed(*s)) fail(api_error::conflict("session " + std::to_string(id) + " is removed"));
    check_in_scope(catalog, content.who, id);
    // What was recorded is closed once the session is locked for retention or long finished.
    if (is_retention_locked(*s))
        fail(api_error::conflict("session " + std::to_string(id) +
                                 " is retention-locked: its content is closed"));
    auto finished = s->find("_finished_seen");
    if (finished != s->end() &&
        now_micros() - finished->value().to_number<micros>() >
            std::chrono::duration_cast<std::chrono::microseconds>(settings_.content_grace).count())
        fail(api_error::conflict("session " + std::to_string(id) + " finished more than " +
                                 std::to_string(settings_.content_grace.count()) +
                                 " s ago: its content is closed"));
}

json::object object_api::append_content(store::transaction& txn, const session_content& content) {
    // The session is read in this write transaction of its partition, where a removal writes
    // too: one that commits after this one queues a purge that removes these records as well.
    auto& p = *content.partition;
    auto& sessions = p.contents.sessions;
    check_takes_content(objects_.env().read(),
                        sessions.get(txn, *find_model("session"), content.session), content);
    store_content(sessions, txn, content);
    return {{"result", "success"}, {"indexed", content.records.size()}};
}

json::object object_api::append_content_from_catalog(store::transaction& txn,
                                                     const auth::principal& who, std::uint64_t id,
                                                     std::string_view body) {
    auto content = parse_session_content(who, id, body, false);
    content.partition = partition_of(txn, id);
    auto& partition = txn.with(content.partition->env, content.partition);
    auto& sessions = content.partition->contents.sessions;
    check_takes_content(txn, sessions.get(partition, *find_model("session"), id), content);
    store_content(sessions, partition, content);
    return {{"result", "success"}, {"indexed", content.records.size()}};
}

void object_api::store_content(store::object_store& sessions, store::transaction& txn,
                               const session_content& content) {
    check_open(content.partition, txn, "its sessions take no content");
    auto& p = content.partition->contents;
    p.content.add(txn, content.records);
    p.alerts.add(txn, content.alerts);
    // The session holds screen content (its `ocred` attribute) from its first screen records on.
    if (std::none_of(content.records.begin(), content.records.end(),
                     [](auto& r) { return r.type == "screen"; }))
        return;
    const model& m = *find_model("session");
    auto s = sessions.get(txn, m, content.session);
    if (!s || s->contains("_screen_content")) return;
    auto after = *s;
    after["_screen_content"] = true;
    if (auto ok = sessions.replace(txn, m, content.session, *s, std::move(after)); !ok)
        fail(ok.error());
}

}  // namespace audex::api
