// The sharded in-memory table of login sessions: see login_sessions.hpp.
#include "auth/login_sessions.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

#include "auth/crypto.hpp"

namespace audex::auth {

login_sessions::login_sessions(std::chrono::seconds idle_timeout, clock_fn clock,
                               std::size_t max_per_user)
    : idle_timeout_(idle_timeout), clock_(std::move(clock)), max_per_user_(max_per_user) {
    if (idle_timeout_ <= std::chrono::seconds::zero())
        throw std::invalid_argument("login session idle timeout must be positive");
    if (max_per_user_ < 1)
        throw std::invalid_argument("a user must be allowed at least one login session");
    if (!clock_) throw std::invalid_argument("login sessions need a clock");
}

login_sessions::shard& login_sessions::shard_of(std::string_view digest) {
    // The digest is a SHA-256 value, so its first byte is already uniformly distributed.
    return shards_[static_cast<unsigned char>(digest[0]) % shard_count];
}

bool login_sessions::expired(const entry& e, steady_time now) const {
    return now - e.last_touch >= idle_timeout_;
}

void login_sessions::make_room_for(std::uint64_t user_id) {
    // A scan of every shard: logins are rare next to the argon2 work each costs.
    struct held {
        steady_time last_touch;
        shard* in;
        std::string digest;
    };
    std::vector<held> mine;
    for (shard& s : shards_) {
        std::lock_guard lock(s.mutex);
        for (auto& [digest, e] : s.entries)
            if (e.who.user_id == user_id) mine.push_back({e.last_touch, &s, digest});
    }
    if (mine.size() < max_per_user_) return;
    std::sort(mine.begin(), mine.end(),
              [](const held& a, const held& b) { return a.last_touch < b.last_touch; });
    for (std::size_t i = 0; i <= mine.size() - max_per_user_; ++i) {
        std::lock_guard lock(mine[i].in->mutex);
        mine[i].in->entries.erase(mine[i].digest);
    }
}

std::string login_sessions::create(principal who) {
    make_room_for(who.user_id);
    const steady_time now = clock_();
    for (;;) {
        std::string token = new_token();
        std::string digest = token_digest(token);
        shard& s = shard_of(digest);
        std::lock_guard lock(s.mutex);
        // A collision of 160 random bits does not happen, but if it did it must not hand out a
        // token that someone else already holds.
        if (s.entries.try_emplace(std::move(digest), entry{std::move(who), now}).second)
            return token;
    }
}

std::optional<login_sessions::hit> login_sessions::touch(std::string_view token) {
    const std::string digest = token_digest(token);
    shard& s = shard_of(digest);
    const steady_time now = clock_();
    std::lock_guard lock(s.mutex);
    auto it = s.entries.find(digest);
    if (it == s.entries.end()) return std::nullopt;
    if (expired(it->second, now)) {
        s.entries.erase(it);
        return std::nullopt;
    }
    // `now` was read before the lock, so a concurrent touch may have stored a later time.
    if (now > it->second.last_touch) it->second.last_touch = now;
    return hit{it->second.who, idle_timeout_};
}

bool login_sessions::end(std::string_view token) {
    const std::string digest = token_digest(token);
    shard& s = shard_of(digest);
    const steady_time now = clock_();
    std::lock_guard lock(s.mutex);
    auto it = s.entries.find(digest);
    if (it == s.entries.end()) return false;
    const bool live = !expired(it->second, now);
    s.entries.erase(it);
    return live;
}

std::size_t login_sessions::end_all_of(std::uint64_t user_id) {
    std::size_t ended = 0;
    for (shard& s : shards_) {
        std::lock_guard lock(s.mutex);
        ended += std::erase_if(s.entries,
                               [&](const auto& kv) { return kv.second.who.user_id == user_id; });
    }
    return ended;
}

std::size_t login_sessions::purge_expired() {
    std::size_t dropped = 0;
    for (shard& s : shards_) {
        // Read the clock per shard: a purge may be slow, and entries must not be judged by a
        // time older than the touches that happened meanwhile.
        std::lock_guard lock(s.mutex);
        const steady_time now = clock_();
        dropped +=
            std::erase_if(s.entries, [&](const auto& kv) { return expired(kv.second, now); });
    }
    return dropped;
}

std::size_t login_sessions::size() const {
    std::size_t n = 0;
    for (const shard& s : shards_) {
        std::lock_guard lock(s.mutex);
        n += s.entries.size();
    }
    return n;
}

}  // namespace audex::auth
