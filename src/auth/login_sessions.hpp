// The table of login sessions (tokens from POST /api/system/login and GET /api/authentication)
// with their idle timeout.
//
// Login sessions live in memory only: a restart ends them all and users log in again. API keys,
// which must survive restarts, are persisted by the store, not here.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/clock.hpp"
#include "auth/roles.hpp"

namespace audex::auth {

// Thread-safe. Every authenticated request touches it, so it is split into shards, each with its
// own lock, chosen by the token's digest: concurrent requests rarely wait for each other.
// Entries are keyed by token_digest(token); the token itself is never kept.
class login_sessions {
  public:
    struct hit {
        principal who;  // as it was at login: changing a user ends its sessions (end_all_of)
        std::chrono::seconds remaining;  // until the session expires if not touched again
    };

    // A user holds at most `max_per_user` sessions: a new one ends the least recently used.
    explicit login_sessions(std::chrono::seconds idle_timeout, clock_fn clock = steady_now,
                            std::size_t max_per_user = 64);

    login_sessions(const login_sessions&) = delete;
    login_sessions& operator=(const login_sessions&) = delete;

    std::chrono::seconds idle_timeout() const { return idle_timeout_; }

    // Starts a session of `who` and returns its new token (see new_token()). Logins that run at
    // the same moment may leave a user briefly above max_per_user; the next login trims it.
    std::string create(principal who);

    // Looks the token up and restarts its idle timer, so remaining == idle_timeout(). Nullopt for
    // an unknown, ended or expired token; an expired entry is dropped here.
    std::optional<hit> touch(std::string_view token);

    // Ends the session of `token`; false when there was no live one.
    bool end(std::string_view token);

    // Ends every session of a user (removed, renamed, password or role changed). Returns how many.
    std::size_t end_all_of(std::uint64_t user_id);

    // Drops expired entries; call it periodically so that sessions nobody touches again do not
    // pile up. Returns how many were dropped.
    std::size_t purge_expired();

    // Live and not yet purged expired sessions; for metrics and tests.
    std::size_t size() const;

  private:
    struct entry {
        principal who;
        steady_time last_touch;
    };
    // Aligned to a cache line so that threads locking neighbouring shards do not share one.
    struct alignas(64) shard {
        mutable std::mutex mutex;
        std::unordered_map<std::string, entry> entries;  // by token digest
    };
    static constexpr std::size_t shard_count = 64;

    shard& shard_of(std::string_view digest);
    bool expired(const entry& e, steady_time now) const;
    // Ends the user's least recently used sessions until one more fits under max_per_user_.
    void make_room_for(std::uint64_t user_id);

    std::chrono::seconds idle_timeout_;
    clock_fn clock_;
    std::size_t max_per_user_;
    std::array<shard, shard_count> shards_;
};

}  // namespace audex::auth
