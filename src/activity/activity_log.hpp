// The activity log: an append-only table of every look at audit data, every change, every login
// and failed login. Each entry holds the SHA-256 of the entry before it, so that an entry removed
// or edited in the store breaks the chain where it was (docs/storage.md, `audex activity verify`).
#pragma once

#include "core/time.hpp"
#include "store/lmdb.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace audex::activity {

// The actions an entry names.
inline constexpr std::string_view actions[] = {"read",  "export",        "change",
                                               "login", "login_failure", "logout"};

// What one request did, as the log keeps it.
struct entry {
    micros time = 0;
    std::string user;           // the user, or the name a failed login tried
    std::uint64_t user_id = 0;  // 0 when no user was authenticated
    std::string client;         // the client's address
    std::string method;
    std::string target;  // the path with its query
    unsigned status = 0;
    std::uint64_t items = 0;  // items returned
    std::string action;       // one of `actions`
};

// Which entries a listing wants; every set member must match.
struct filter {
    std::optional<std::string> user, action;
    std::optional<micros> start, end;  // inclusive
};

// The outcome of walking the chain.
struct verdict {
    std::uint64_t entries = 0;
    std::optional<std::uint64_t> broken_at;  // the first entry that does not hold together
    std::string reason;
};

class activity_log {
  public:
    // Reads are queued and committed together by a thread of its own at most `flush_delay` after
    // they were queued; changes are appended inside the caller's write transaction.
    activity_log(store::environment& env, std::chrono::milliseconds flush_delay);
    // Commits what is still queued.
    ~activity_log();
    activity_log(const activity_log&) = delete;
    activity_log& operator=(const activity_log&) = delete;

    // Appends `entries` in `txn`, a write transaction: they are durable once that commits.
    void append(store::transaction& txn, std::span<const entry> entries) const;
    // Queues the entry of a read, to be committed within flush_delay.
    void enqueue(entry e);
    // Commits what is queued now.
    void flush();

    // The entries that `f` selects, by time (then by number), from `offset`, at most `limit`,
    // and how many it selects in all. A time window reads only its own entries; a user or action
    // filter reads every entry of the window (each is checked against the request's deadline).
    std::pair<std::vector<boost::json::object>, std::size_t> list(const store::transaction& txn,
                                                                  const filter& f,
                                                                  std::size_t limit,
                                                                  std::size_t offset) const;

    // Walks the whole chain: every entry numbered one after the other from 1, each holding the
    // digest of the one before (the first, 64 zeros), and the last one's digest the one the store
    // holds as the head.
    verdict verify(const store::transaction& txn) const;

  private:
    static constexpr std::size_t flush_batch = 4096;  // queued reads that are committed at once
    void run();

    store::environment& env_;
    // Indexes the entries by time when a store written before the index is opened.
    void index_times();

    store::table entries_, meta_;
    store::table by_time_;  // i64 time, u64 number → nothing
    std::chrono::milliseconds flush_delay_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<entry> queue_;
    bool stopping_ = false;
    std::thread flusher_;
};

}  // namespace audex::activity
