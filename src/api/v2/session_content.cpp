// Session content through the object API: records read and matched against the content policies,
// checked against the session as the catalog holds it, and stored in the session's partition
// (search/content_store.hpp).
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

search::content_store::handle object_api::partition_of(const store::transaction& catalog,
                                                       std::uint64_t session) {
    auto s = objects_.get(catalog, *find_model("session"), session);
    if (!s) fail(api_error::not_found("no session " + std::to_string(session)));
    return content_.for_writing(*s);
}

void object_api::check_takes_content(const store::transaction& catalog,
                                     const session_content& content) const {
    auto id = content.session;
    auto s = objects_.get(catalog, *find_model("session"), id);
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
    // The session is read as the catalog holds it during this write transaction of the partition:
    // a removal that commits after this check queues a purge, which waits for this transaction
    // and removes these records too.
    check_takes_content(objects_.env().read(), content);
    auto& partition = content.partition->contents;
    partition.content.add(txn, content.records);
    partition.alerts.add(txn, content.alerts);
    return {{"result", "success"}, {"indexed", content.records.size()}};
}

json::object object_api::append_content_from_catalog(store::transaction& txn,
                                                     const auth::principal& who, std::uint64_t id,
                                                     std::string_view body) {
    auto content = parse_session_content(who, id, body, false);
    content.partition = partition_of(txn, id);
    check_takes_content(txn, content);
    mark_screen_content(txn, content);
    auto& p = *content.partition;
    auto& partition = txn.with(p.env, content.partition);
    p.contents.content.add(partition, content.records);
    p.contents.alerts.add(partition, content.alerts);
    return {{"result", "success"}, {"indexed", content.records.size()}};
}

void object_api::mark_screen_content(store::transaction& txn, const session_content& content) {
    // Later screen records leave the session as it is.
    if (std::none_of(content.records.begin(), content.records.end(),
                     [](auto& r) { return r.type == "screen"; }))
        return;
    const model& sessions = *find_model("session");
    auto s = objects_.get(txn, sessions, content.session);
    if (!s || s->contains("_screen_content")) return;
    auto after = *s;
    after["_screen_content"] = true;
    if (auto ok = objects_.replace(txn, sessions, content.session, *s, std::move(after)); !ok)
        fail(ok.error());
}

}  // namespace audex::api
