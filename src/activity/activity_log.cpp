// The chained activity log (see activity_log.hpp).
#include "activity/activity_log.hpp"

#include "store/keys.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace audex::activity {

namespace json = boost::json;

namespace {

const std::string no_digest(64, '0');  // what the first entry holds as the one before it

std::string digest_hex(std::string_view bytes) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    char hex[2 * sizeof digest + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return hex;
}

json::object to_json(const entry& e, std::uint64_t seq, const std::string& prev) {
    return {{"seq", seq},
            {"time", format_iso_time(e.time)},
            {"user", e.user},
            {"user_id", e.user_id ? json::value(std::to_string(e.user_id)) : json::value(nullptr)},
            {"client", e.client},
            {"method", e.method},
            {"target", e.target},
            {"status", e.status},
            {"items", e.items},
            {"action", e.action},
            {"prev", prev}};
}

bool selected(const json::object& o, const filter& f) {
    if (f.user && o.at("user").as_string() != *f.user) return false;
    if (f.action && o.at("action").as_string() != *f.action) return false;
    if (f.start || f.end) {
        auto t = parse_time(o.at("time").as_string());
        if (!t || (f.start && t->at < *f.start) || (f.end && t->at > *f.end)) return false;
    }
    return true;
}

}  // namespace

activity_log::activity_log(store::environment& env, std::chrono::milliseconds flush_delay)
    : env_(env),
      entries_(env.open_table("activity")),
      meta_(env.open_table("activity_meta")),
      flush_delay_(flush_delay),
      flusher_([this] { run(); }) {}

activity_log::~activity_log() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    flusher_.join();
    flush();
}

void activity_log::append(store::transaction& txn, const entry& e) const {
    std::uint64_t seq = 1;
    std::string prev = no_digest;
    if (auto head = txn.get(meta_, "head")) {
        seq = store::read_u64(*head) + 1;
        prev = std::string(head->substr(8));
    }
    auto text = json::serialize(to_json(e, seq, prev));
    txn.append(entries_, store::u64_key(seq), text);
    auto head = store::u64_key(seq);
    head += digest_hex(text);
    txn.put(meta_, "head", head);
}

void activity_log::enqueue(entry e) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(e));
}

void activity_log::flush() {
    std::vector<entry> batch;
    {
        std::lock_guard lock(mutex_);
        batch.swap(queue_);
    }
    if (batch.empty()) return;
    try {
        env_.write([&](store::transaction& txn) {
            for (auto& e : batch)
                append(txn, e);
        });
    } catch (const std::exception& e) {
        // Kept for the next round rather than lost: a full store may have room again by then.
        spdlog::error("writing {} activity log entries failed: {}", batch.size(), e.what());
        std::lock_guard lock(mutex_);
        queue_.insert(queue_.begin(), batch.begin(), batch.end());
    }
}

void activity_log::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, flush_delay_, [this] { return stopping_; });
        if (stopping_) break;
        lock.unlock();
        flush();
        lock.lock();
    }
}

std::pair<std::vector<json::object>, std::size_t> activity_log::list(const store::transaction& txn,
                                                                     const filter& f,
                                                                     std::size_t limit,
                                                                     std::size_t offset) const {
    std::vector<json::object> page;
    std::size_t total = 0;
    auto c = txn.open_cursor(entries_);
    for (bool more = c.first(); more; more = c.next()) {
        auto o = json::parse(c.value()).as_object();
        if (!selected(o, f)) continue;
        if (total++ >= offset && page.size() < limit) page.push_back(std::move(o));
    }
    return {std::move(page), total};
}

verdict activity_log::verify(const store::transaction& txn) const {
    verdict v;
    std::string prev = no_digest;
    auto broken = [&](std::string reason) {
        v.broken_at = v.entries + 1;
        v.reason = std::move(reason);
        return v;
    };
    auto c = txn.open_cursor(entries_);
    for (bool more = c.first(); more; more = c.next()) {
        if (c.key().size() != 8 || store::read_u64(c.key()) != v.entries + 1)
            return broken("entry " + std::to_string(v.entries + 1) + " is missing");
        boost::system::error_code ec;
        auto value = json::parse(c.value(), ec);
        auto* o = ec ? nullptr : value.if_object();
        auto* seq = o ? o->if_contains("seq") : nullptr;
        auto* held = o ? o->if_contains("prev") : nullptr;
        if (!seq || !seq->is_int64() || seq->get_int64() != std::int64_t(v.entries + 1))
            return broken("its number does not match its key");
        if (!held || !held->is_string() || held->get_string() != prev)
            return broken("it does not hold the digest of the entry before it");
        prev = digest_hex(c.value());
        ++v.entries;
    }
    auto head = txn.get(meta_, "head");
    if (!head && v.entries == 0) return v;
    if (!head || head->size() != 8 + 64 || store::read_u64(*head) != v.entries ||
        head->substr(8) != prev) {
        v.broken_at = v.entries;
        v.reason = "the last entry is not the one the store holds as the head";
    }
    return v;
}

}  // namespace audex::activity
