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
// Failures are counted per (user name, client address) and per client address, never per user
// name alone: a user locked by name would let anyone lock any account from anywhere. So a correct
// password from a client that has not failed is never refused; a client guessing one user's
// password is stopped by its pair, a client guessing many users' by its address. User names
// compare ASCII case-insensitively. Thread-safe; one lock is enough because logins are rare next
// to the argon2 work they cost.
class login_throttle {
  public:
    struct settings {
        unsigned max_failures = 5;              // failures of one user from one client that lock
        unsigned max_client_failures = 20;      // failures from one client, for any users
        std::chrono::seconds window{300};       // how far back failures count
        std::chrono::seconds lockout{60};       // the first lockout of a key
        std::chrono::seconds max_lockout{900};  // each repeated lockout doubles, up to this
        std::size_t max_keys = 100'000;         // tracked pairs + clients
    };

    login_throttle();
    explicit login_throttle(settings s, clock_fn clock = steady_now);

    login_throttle(const login_throttle&) = delete;
    login_throttle& operator=(const login_throttle&) = delete;

    // Nullopt: the attempt may go ahead. Otherwise the pair or the client is locked, and the
    // value (at least 1 s) is the Retry-After: the longer of the two lockouts.
    std::optional<std::chrono::seconds> check(std::string_view user, std::string_view client);

    // Counts a failed attempt against the pair and the client. Failures that arrive while a key
    // is locked are not counted: they were admitted by a check() before the lock began.
    void failed(std::string_view user, std::string_view client);

    // Clears the pair's failures and lockout history. The client's are kept, or one valid account
    // would let an address go on guessing the passwords of others.
    void succeeded(std::string_view user, std::string_view client);

    // Keys tracked now; for metrics and tests.
    std::size_t size() const;

  private:
    // Unlocked keys live in `unlocked_`, most recently failed first; locked ones in `locked_`,
    // most recently locked first. Memory is bounded by evicting unlocked keys only: a flood of
    // new keys must not free a locked one.
    struct state {
        std::vector<steady_time> failures;  // within the window, oldest first
        steady_time last_failure{};
        steady_time locked_until{};
        unsigned lockouts = 0;  // consecutive lockouts, for the doubling
        bool in_locked = false;
        std::list<std::string>::iterator position;
    };
    using table = std::unordered_map<std::string, state>;

    static std::string pair_key(std::string_view user, std::string_view client);
    static std::string client_key(std::string_view client);
    std::optional<std::chrono::seconds> locked_for(const std::string& key, steady_time now) const;
    void record_failure(std::string key, unsigned max_failures, steady_time now);
    // Frees a slot for a new key; false when every tracked key is locked.
    bool make_room(steady_time now);
    bool stale(const state& s, steady_time now) const;
    void forget(table::iterator it);

    settings settings_;
    clock_fn clock_;
    mutable std::mutex mutex_;
    table keys_;
    std::list<std::string> unlocked_, locked_;
};

}  // namespace audex::auth
