// Users as the API sees them when it authenticates: lookup by name, password checks, API keys
// (stored as token digests) and the superadmin created on first start.
#pragma once

#include "auth/crypto.hpp"
#include "auth/roles.hpp"
#include "store/object_store.hpp"

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

namespace audex::auth {

class user_directory {
  public:
    user_directory(store::object_store& objects, password_cost cost);

    const password_cost& cost() const { return cost_; }

    // A live (not removed) user by id or by name, as a principal.
    std::optional<principal> find(const store::transaction& txn, std::uint64_t id) const;
    std::optional<principal> find(const store::transaction& txn, std::string_view name) const;

    // The user whose name and password these are. The password check runs outside any transaction.
    std::optional<principal> verify(std::string_view name, std::string_view password) const;

    // Creates a user; Conflict when the name is taken.
    result<std::uint64_t> add(store::transaction& txn, std::string_view name, role r,
                              std::string_view password) const;
    // Sets a new password and revokes the user's API key.
    result<void> set_password(store::transaction& txn, std::uint64_t id,
                              std::string_view password) const;

    // Issues the user's API key, replacing the previous one; the key is returned once and only its
    // digest is stored.
    std::string issue_api_key(store::transaction& txn, std::uint64_t user_id) const;
    // Revokes the user's API key; false when it had none.
    bool revoke_api_key(store::transaction& txn, std::uint64_t user_id) const;
    // The user an API key belongs to.
    std::optional<std::uint64_t> api_key_user(const store::transaction& txn,
                                              std::string_view token) const;

    // On a store with no users, creates the superadmin `admin` with `password`, or with a random
    // one written to a new file `<data>/initial-admin-password` (mode 0600 from its creation).
    // Throws, creating nothing, when that path exists (a symbolic link included). Returns a line
    // for the log, which never holds the password.
    std::optional<std::string> bootstrap(const std::filesystem::path& data,
                                         std::optional<std::string> password) const;

  private:
    store::object_store& objects_;
    password_cost cost_;
    const model& users_;
    store::table keys_, key_of_user_;
    // A hash of a random password at `cost_`, made on first use: what unknown names verify against.
    mutable std::once_flag dummy_once_;
    mutable std::string dummy_hash_;
};

}  // namespace audex::auth
