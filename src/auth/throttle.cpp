// Login throttling per (user name, client address) and per client address: see throttle.hpp.
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
    if (settings_.max_failures < 1 || settings_.max_client_failures < 1)
        throw std::invalid_argument("throttle failure counts must be at least 1");
    if (settings_.window <= seconds::zero() || settings_.lockout <= seconds::zero())
        throw std::invalid_argument("throttle window and lockout must be positive");
    if (settings_.max_lockout < settings_.lockout)
        throw std::invalid_argument("throttle max_lockout must not be below lockout");
    if (settings_.max_keys < 2) throw std::invalid_argument("throttle max_keys must be at least 2");
    if (!clock_) throw std::invalid_argument("login throttle needs a clock");
}

std::string login_throttle::pair_key(std::string_view user, std::string_view client) {
    std::string key = "p:";
    key.reserve(3 + user.size() + client.size());
    key += client;
    key += ' ';  // never in an address
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

void login_throttle::forget(table::iterator it) {
    (it->second.in_locked ? locked_ : unlocked_).erase(it->second.position);
    keys_.erase(it);
}

bool login_throttle::make_room(steady_time now) {
    // What has gone stale at the old ends, then, under a flood of distinct keys, the least
    // recently failed unlocked ones.
    for (auto* list : {&unlocked_, &locked_})
        while (!list->empty()) {
            auto it = keys_.find(list->back());
            if (!stale(it->second, now)) break;
            forget(it);
        }
    while (keys_.size() >= settings_.max_keys && !unlocked_.empty())
        forget(keys_.find(unlocked_.back()));
    return keys_.size() < settings_.max_keys;
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
    auto by_pair = locked_for(pair_key(user, client), now);
    auto by_client = locked_for(client_key(client), now);
    if (by_pair && by_client) return std::max(*by_pair, *by_client);
    return by_pair ? by_pair : by_client;
}

void login_throttle::record_failure(std::string key, unsigned max_failures, steady_time now) {
    auto it = keys_.find(key);
    if (it != keys_.end() && stale(it->second, now)) {
        forget(it);
        it = keys_.end();
    }
    if (it == keys_.end()) {
        // With every slot held by a locked key the failure goes uncounted; the lockouts already
        // in force stay.
        if (!make_room(now)) return;
        unlocked_.push_front(key);
        it = keys_.try_emplace(std::move(key)).first;
        it->second.position = unlocked_.begin();
    } else if (it->second.locked_until > now) {
        return;
    } else if (it->second.in_locked) {
        unlocked_.splice(unlocked_.begin(), locked_, it->second.position);
        it->second.in_locked = false;
    } else {
        unlocked_.splice(unlocked_.begin(), unlocked_, it->second.position);
    }

    state& s = it->second;
    std::erase_if(s.failures, [&](steady_time t) { return now - t >= settings_.window; });
    s.failures.push_back(now);
    s.last_failure = now;
    if (s.failures.size() < max_failures) return;

    std::chrono::seconds duration = settings_.lockout;
    for (unsigned i = 0; i < s.lockouts && duration < settings_.max_lockout; ++i)
        duration *= 2;
    s.locked_until = now + std::min(duration, settings_.max_lockout);
    s.lockouts = std::min(s.lockouts + 1, max_doublings);
    s.failures.clear();
    locked_.splice(locked_.begin(), unlocked_, s.position);
    s.in_locked = true;
}

void login_throttle::failed(std::string_view user, std::string_view client) {
    const steady_time now = clock_();
    std::lock_guard lock(mutex_);
    record_failure(pair_key(user, client), settings_.max_failures, now);
    record_failure(client_key(client), settings_.max_client_failures, now);
}

void login_throttle::succeeded(std::string_view user, std::string_view client) {
    std::lock_guard lock(mutex_);
    if (auto it = keys_.find(pair_key(user, client)); it != keys_.end()) forget(it);
}

std::size_t login_throttle::size() const {
    std::lock_guard lock(mutex_);
    return keys_.size();
}

}  // namespace audex::auth
