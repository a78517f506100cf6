// Login throttling per user name and per client address: see throttle.hpp.
#include "auth/throttle.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace audex::auth {

namespace {
// Doublings beyond this cannot matter (2^20 minutes is years) and could overflow.
constexpr unsigned max_doublings = 20;
}  // namespace

login_throttle::login_throttle() : login_throttle(settings{}) {}

login_throttle::login_throttle(settings s, clock_fn clock)
    : settings_(s), clock_(std::move(clock)) {
    using std::chrono::seconds;
    if (settings_.max_failures < 1) throw std::invalid_argument("max_failures must be at least 1");
    if (settings_.window <= seconds::zero() || settings_.lockout <= seconds::zero())
        throw std::invalid_argument("throttle window and lockout must be positive");
    if (settings_.max_lockout < settings_.lockout)
        throw std::invalid_argument("throttle max_lockout must not be below lockout");
    if (settings_.max_keys < 2) throw std::invalid_argument("throttle max_keys must be at least 2");
    if (!clock_) throw std::invalid_argument("login throttle needs a clock");
}

std::string login_throttle::user_key(std::string_view user) {
    std::string key = "u:";
    key.reserve(2 + user.size());
    for (char c : user)
        key += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return key;
}

std::string login_throttle::client_key(std::string_view client) {
    std::string key = "c:";
    key += client;
    return key;
}

// A key is worth keeping while it has failures in the window, is locked, or was locked recently
// enough that a new lockout should be a doubled one.
bool login_throttle::stale(const state& s, steady_time now) const {
    return now - std::max(s.last_failure, s.locked_until) >= settings_.window;
}

void login_throttle::forget(std::unordered_map<std::string, state>::iterator it) {
    lru_.erase(it->second.lru);
    keys_.erase(it);
}

std::optional<std::chrono::seconds> login_throttle::locked_for(const std::string& key,
                                                               steady_time now) const {
    auto it = keys_.find(key);
    if (it == keys_.end() || it->second.locked_until <= now) return std::nullopt;
    return std::chrono::ceil<std::chrono::seconds>(it->second.locked_until - now);
}

std::optional<std::chrono::seconds> login_throttle::check(std::string_view user,
                                                          std::string_view client) {
    const steady_time now = clock_();
    std::lock_guard lock(mutex_);
    auto by_user = locked_for(user_key(user), now);
    auto by_client = locked_for(client_key(client), now);
    if (by_user && by_client) return std::max(*by_user, *by_client);
    return by_user ? by_user : by_client;
}

void login_throttle::record_failure(std::string key, steady_time now) {
    auto it = keys_.find(key);
    if (it != keys_.end() && stale(it->second, now)) {
        forget(it);
        it = keys_.end();
    }
    if (it == keys_.end()) {
        // Make room: first what has gone stale at the old end, then, under a flood of distinct
        // keys, the least recently failed ones, so memory stays bounded.
        while (!lru_.empty() &&
               (keys_.size() >= settings_.max_keys || stale(keys_.find(lru_.back())->second, now)))
            forget(keys_.find(lru_.back()));
        lru_.push_front(key);
        it = keys_.try_emplace(std::move(key)).first;
        it->second.lru = lru_.begin();
    } else {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
    }

    state& s = it->second;
    if (s.locked_until > now) return;
    std::erase_if(s.failures, [&](steady_time t) { return now - t >= settings_.window; });
    s.failures.push_back(now);
    s.last_failure = now;
    if (s.failures.size() < settings_.max_failures) return;

    std::chrono::seconds duration = settings_.lockout;
    for (unsigned i = 0; i < s.lockouts && duration < settings_.max_lockout; ++i)
        duration *= 2;
    s.locked_until = now + std::min(duration, settings_.max_lockout);
    s.lockouts = std::min(s.lockouts + 1, max_doublings);
    s.failures.clear();
}

void login_throttle::failed(std::string_view user, std::string_view client) {
    const steady_time now = clock_();
    std::lock_guard lock(mutex_);
    record_failure(user_key(user), now);
    record_failure(client_key(client), now);
}

void login_throttle::succeeded(std::string_view user, std::string_view /*client*/) {
    std::lock_guard lock(mutex_);
    if (auto it = keys_.find(user_key(user)); it != keys_.end()) forget(it);
}

std::size_t login_throttle::size() const {
    std::lock_guard lock(mutex_);
    return keys_.size();
}

}  // namespace audex::auth
