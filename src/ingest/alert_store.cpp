// Alert keys and values in LMDB: u64 session, i64 record id, u32 sequence → JSON.
#include "ingest/alert_store.hpp"

#include "store/keys.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <limits>

namespace audex::ingest {

namespace json = boost::json;

namespace {

// Alerts of records without a record id sort first.
constexpr std::int64_t no_record_id = std::numeric_limits<std::int64_t>::min();

std::string record_prefix(std::uint64_t session, std::int64_t record) {
    auto k = store::u64_key(session);
    store::append_i64(k, record);
    return k;
}

alert from_stored(std::string_view key, std::string_view raw) {
    auto o = json::parse(raw).as_object();
    alert a;
    a.session = store::read_u64(key);
    auto record = store::read_i64(key, 8);
    if (record != no_record_id) a.record_id = record;
    a.channel = o.at("c").to_number<std::int64_t>();
    a.type = parse_event_type(o.at("t").as_string()).value_or(event_type::command);
    a.rule_name = o.at("r").as_string();
    a.matched_regexp = o.at("p").as_string();
    a.matched_content = o.at("x").as_string();
    a.time = o.at("b").to_number<std::int64_t>();
    return a;
}

}  // namespace

alert_store::alert_store(store::environment& env) : alerts_(env.open_table("alerts")) {}

void alert_store::add(store::transaction& txn, const std::vector<alert>& alerts) {
    for (auto& a : alerts) {
        auto key = record_prefix(a.session, a.record_id.value_or(no_record_id));
        // The next sequence number after the record's last alert.
        std::uint32_t sequence = 0;
        {
            auto c = txn.open_cursor(alerts_);
            bool at = c.seek(key + std::string(4, '\xff')) ? c.prev() : c.last();
            if (at && c.key().size() == key.size() + 4 && c.key().starts_with(key))
                sequence = store::read_u32(c.key(), key.size()) + 1;
        }
        store::append_u32(key, sequence);
        json::object value{{"c", a.channel},         {"t", event_type_name(a.type)},
                           {"r", a.rule_name},       {"p", a.matched_regexp},
                           {"x", a.matched_content}, {"b", a.time}};
        txn.put(alerts_, key, json::serialize(value));
    }
}

std::vector<std::uint64_t> alert_store::sessions(const store::transaction& txn) const {
    return store::key_prefixes(txn.open_cursor(alerts_));
}

std::size_t alert_store::page(const store::transaction& txn, std::uint64_t session,
                              std::size_t offset, std::size_t limit,
                              const std::function<void(const alert&)>& visit) const {
    auto prefix = store::u64_key(session);
    std::size_t total = 0;
    auto c = txn.open_cursor(alerts_);
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next(), ++total)
        if (total >= offset && total - offset < limit) visit(from_stored(c.key(), c.value()));
    return total;
}

bool alert_store::purge_session(store::transaction& txn, std::uint64_t session,
                                std::size_t max_alerts) {
    auto prefix = store::u64_key(session);
    auto c = txn.open_cursor(alerts_);
    bool ok = c.seek(prefix);
    for (std::size_t n = 0; ok && c.key().starts_with(prefix); ++n) {
        if (n == max_alerts) return false;
        ok = c.erase();
    }
    return true;
}

}  // namespace audex::ingest
