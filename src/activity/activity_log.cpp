// The chained activity log (see activity_log.hpp).
#include "activity/activity_log.hpp"

#include "core/deadline.hpp"

#include "store/keys.hpp"

#include <openssl/sha.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>
#include <algorithm>
#include <limits>
#include <stdexcept>

namespace audex::activity {

namespace json = boost::json;

namespace {

const std::string no_digest(64, '0');  // what the first entry holds as the one before it

// OpenSSL's SHA-256 uses the CPU's SHA instructions where there are some: a busy server hashes
// tens of thousands of entries a second.
std::string digest_hex(std::string_view bytes) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex(2 * sizeof digest, '0');
    for (std::size_t i = 0; i < sizeof digest; ++i) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 0xf];
    }
    return hex;
}

void append_text(std::string& out, std::string_view text) {
    auto size = std::uint32_t(std::min<std::size_t>(text.size(), 0xffff));
    out += char(size >> 8);
    out += char(size & 0xff);
    out.append(text.data(), size);
}

// The stored bytes of an entry (docs/storage.md): numbers big-endian, then texts each after its
// 16-bit length, then the previous entry's digest in hex. Written without a JSON writer, since a
// busy server writes tens of thousands a second; the listing turns them into JSON.
std::string encode(const entry& e, std::uint64_t seq, std::string_view prev) {
    std::string out;
    out.reserve(128 + e.user.size() + e.target.size());
    store::append_u64(out, seq);
    store::append_i64(out, e.time);
    store::append_u64(out, e.user_id);
    store::append_u64(out, e.items);
    store::append_u32(out, e.status);
    for (std::string_view text :
         {std::string_view(e.user), std::string_view(e.client), std::string_view(e.method),
          std::string_view(e.target), std::string_view(e.action), prev})
        append_text(out, text);
    return out;
}

// An entry read back, with its number and the digest it holds of the one before.
struct stored {
    std::uint64_t seq = 0;
    entry e;
    std::string prev;
};

std::optional<stored> decode(std::string_view bytes) {
    constexpr std::size_t fixed = 8 * 4 + 4;
    if (bytes.size() < fixed) return std::nullopt;
    stored s;
    s.seq = store::read_u64(bytes, 0);
    s.e.time = store::read_i64(bytes, 8);
    s.e.user_id = store::read_u64(bytes, 16);
    s.e.items = store::read_u64(bytes, 24);
    s.e.status = store::read_u32(bytes, 32);
    std::size_t at = fixed;
    for (auto* text : {&s.e.user, &s.e.client, &s.e.method, &s.e.target, &s.e.action, &s.prev}) {
        if (bytes.size() - at < 2) return std::nullopt;
        std::size_t size =
            (std::size_t(std::uint8_t(bytes[at])) << 8) | std::uint8_t(bytes[at + 1]);
        at += 2;
        if (bytes.size() - at < size) return std::nullopt;
        text->assign(bytes.substr(at, size));
        at += size;
    }
    if (at != bytes.size()) return std::nullopt;
    return s;
}

json::object to_json(const stored& s) {
    const auto& e = s.e;
    return {{"seq", s.seq},
            {"time", format_iso_time(e.time)},
            {"user", e.user},
            {"user_id", e.user_id ? json::value(std::to_string(e.user_id)) : json::value(nullptr)},
            {"client", e.client},
            {"method", e.method},
            {"target", e.target},
            {"status", e.status},
            {"items", e.items},
            {"action", e.action},
            {"prev", s.prev}};
}

bool selected(const entry& e, const filter& f) {
    return (!f.user || e.user == *f.user) && (!f.action || e.action == *f.action);
}

std::string time_key(micros time, std::uint64_t seq) {
    std::string key;
    store::append_i64(key, time);
    store::append_u64(key, seq);
    return key;
}

}  // namespace

activity_log::activity_log(store::environment& env, std::chrono::milliseconds flush_delay)
    : env_(env),
      entries_(env.open_table("activity")),
      meta_(env.open_table("activity_meta")),
      by_time_(env.open_table("activity.by_time")),
      flush_delay_(flush_delay) {
    index_times();
    flusher_ = std::thread([this] { run(); });
}

activity_log::~activity_log() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    flusher_.join();
    flush();
}

void activity_log::append(store::transaction& txn, std::span<const entry> entries) const {
    std::uint64_t seq = 0;
    std::string prev = no_digest;
    if (auto head = txn.get(meta_, "head")) {
        seq = store::read_u64(*head);
        prev = std::string(head->substr(8));
    }
    auto out = txn.open_cursor(entries_);
    for (auto& e : entries) {
        auto text = encode(e, ++seq, prev);
        out.append(store::u64_key(seq), text);
        txn.put(by_time_, time_key(e.time, seq), {});
        prev = digest_hex(text);
    }
    txn.put(meta_, "head", store::u64_key(seq) + prev);
}

void activity_log::enqueue(entry e) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(e));
    // A busy server commits in smaller groups well before the delay: a second of tens of
    // thousands of reads in one transaction would stall every request for its commit.
    if (queue_.size() == flush_batch) wake_.notify_one();
}

void activity_log::flush() {
    std::vector<entry> batch;
    {
        std::lock_guard lock(mutex_);
        batch.swap(queue_);
    }
    if (batch.empty()) return;
    try {
        env_.write([&](store::transaction& txn) { append(txn, batch); });
    } catch (const std::exception& e) {
        // Kept for the next round rather than lost: a full store may have room again by then.
        spdlog::error("writing {} activity log entries failed: {}", batch.size(), e.what());
        std::lock_guard lock(mutex_);
        queue_.insert(queue_.begin(), batch.begin(), batch.end());
    }
}

void activity_log::run() {
    // Below the I/O threads, which answer requests: the log only has to be durable within the
    // delay. On Linux a thread's nice value is its own.
    ::setpriority(PRIO_PROCESS, ::gettid(), 10);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, flush_delay_,
                       [this] { return stopping_ || queue_.size() >= flush_batch; });
        if (stopping_) break;
        lock.unlock();
        flush();
        lock.lock();
    }
}

void activity_log::index_times() {
    try {
        {
            // The usual case, a log indexed already, costs a start one read.
            auto txn = env_.read();
            if (txn.entries(by_time_) == txn.entries(entries_)) return;
        }
        // A batch at a time, each its own transaction: the log of a busy store is long.
        std::uint64_t from = 1;
        for (;;) {
            auto next = env_.write([&](store::transaction& txn) -> std::optional<std::uint64_t> {
                if (txn.entries(by_time_) == txn.entries(entries_)) return std::nullopt;
                auto c = txn.open_cursor(entries_);
                std::size_t n = 0;
                for (bool ok = c.seek(store::u64_key(from)); ok; ok = c.next()) {
                    auto seq = store::read_u64(c.key());
                    if (n++ == 65536) return seq;  // where the next batch begins
                    if (auto s = decode(c.value())) txn.put(by_time_, time_key(s->e.time, seq), {});
                }
                return std::nullopt;
            });
            if (!next) return;
            from = *next;
        }
    } catch (const std::exception& e) {
        spdlog::error("indexing the activity log by time failed: {}", e.what());
    }
}

std::pair<std::vector<json::object>, std::size_t> activity_log::list(const store::transaction& txn,
                                                                     const filter& f,
                                                                     std::size_t limit,
                                                                     std::size_t offset) const {
    const bool every = !f.user && !f.action;
    const bool whole = !f.start && !f.end;
    std::vector<json::object> page;
    std::size_t total = 0;
    auto entries = txn.open_cursor(entries_);
    auto times = txn.open_cursor(by_time_);
    const auto end = f.end.value_or(std::numeric_limits<micros>::max());
    for (bool more = times.seek(time_key(f.start.value_or(std::numeric_limits<micros>::min()), 0));
         more && store::read_i64(times.key()) <= end; more = times.next()) {
        check_deadline();
        // Without a filter, only the page's entries are read; the count needs no entry either.
        if (every) {
            if (total++ < offset) continue;
            if (page.size() == limit) {
                if (whole) break;
                continue;
            }
        }
        auto seq = store::read_u64(times.key(), 8);
        if (!entries.seek(store::u64_key(seq)) || store::read_u64(entries.key()) != seq)
            throw std::runtime_error("activity log entry " + std::to_string(seq) +
                                     " is missing: run audex activity verify");
        auto s = decode(entries.value());
        if (!s)
            throw std::runtime_error("activity log entry " + std::to_string(seq) +
                                     " is damaged: run audex activity verify");
        if (every)
            page.push_back(to_json(*s));
        else if (selected(s->e, f) && total++ >= offset && page.size() < limit)
            page.push_back(to_json(*s));
    }
    if (every && whole) total = txn.entries(entries_);
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
        auto s = decode(c.value());
        if (!s) return broken("it cannot be read");
        if (s->seq != v.entries + 1) return broken("its number does not match its key");
        if (s->prev != prev) return broken("it does not hold the digest of the entry before it");
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
