// Login throttling: after repeated failed logins for one user name or from one client address,
// further attempts for it are refused for a while (429 with Retry-After, API.md section 2).
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/clock.hpp"

namespace audex::auth {

// Use per login attempt: check() first and answer 429 without verifying the password when it
// gives a delay (so a locked key costs no argon2 work); otherwise verify, then report failed() or
// succeeded().
//
// User names (ASCII case-insensitive) and client addresses are counted separately: a user is
// protected against guessing from many addresses, and one address guessing many users is stopped
// too. Thread-safe; one lock is enough because logins are rare next to the argon2 work they cost.
class login_throttle {
  public:
    struct settings {
        unsigned max_failures = 5;              // failures within `window` that lock a key
        std::chrono::seconds window{300};       // how far back failures count
        std::chrono::seconds lockout{60};       // the first lockout of a key
        std::chrono::seconds max_lockout{900};  // each repeated lockout doubles, up to this
        std::size_t max_keys = 100'000;         // tracked users + clients; oldest evicted beyond
    };

    login_throttle();
    explicit login_throttle(settings s, clock_fn clock = steady_now);

    login_throttle(const login_throttle&) = delete;
    login_throttle& operator=(const login_throttle&) = delete;

    // Nullopt: the attempt may go ahead. Otherwise the user or the client is locked, and the
    // value (at least 1 s) is the Retry-After: the longer of the two lockouts.
    std::optional<std::chrono::seconds> check(std::string_view user, std::string_view client);

    // Counts a failed attempt against both the user and the client. Failures that arrive while a
    // key is locked are not counted: they were admitted by a check() before the lock began.
    void failed(std::string_view user, std::string_view client);

    // Clears the user's failures and lockout history. The client's are kept, or one valid account
    // would let an address go on guessing the passwords of others.
    void succeeded(std::string_view user, std::string_view client);

    // Keys tracked now; for metrics and tests.
    std::size_t size() const;

  private:
    struct state {
        std::vector<steady_time> failures;  // within the window, oldest first; < max_failures
        steady_time last_failure{};
        steady_time locked_until{};
        unsigned lockouts = 0;  // consecutive lockouts, for the doubling
        std::list<std::string>::iterator lru;
    };

    static std::string user_key(std::string_view user);
    static std::string client_key(std::string_view client);
    std::optional<std::chrono::seconds> locked_for(const std::string& key, steady_time now) const;
    void record_failure(std::string key, steady_time now);
    bool stale(const state& s, steady_time now) const;
    void forget(std::unordered_map<std::string, state>::iterator it);

    settings settings_;
    clock_fn clock_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, state> keys_;
    std::list<std::string> lru_;  // most recently failed first
};

}  // namespace audex::auth
