// Users, passwords and API keys on top of the object store.
#include "auth/user_directory.hpp"

#include "store/keys.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace audex::auth {

namespace json = boost::json;

user_directory::user_directory(store::object_store& objects, password_cost cost)
    : objects_(objects), cost_(cost), users_(*find_model("user")) {
    keys_ = objects.env().open_table("api_keys");
    key_of_user_ = objects.env().open_table("api_key_of_user");
}

namespace {
std::optional<principal> to_principal(std::uint64_t id, const json::object& o) {
    if (auto it = o.find("removed"); it != o.end() && it->value() == true) return std::nullopt;
    principal p;
    p.user_id = id;
    p.name = o.at("name").as_string();
    auto r = o.find("role");
    p.role = r == o.end() ? role::user : parse_role(r->value().as_string()).value_or(role::user);
    if (auto s = o.find("scope"); s != o.end() && s->value().is_string())
        p.scope = s->value().get_string();
    return p;
}
}  // namespace

std::optional<principal> user_directory::find(const store::transaction& txn,
                                              std::uint64_t id) const {
    auto o = objects_.get(txn, users_, id);
    if (!o) return std::nullopt;
    return to_principal(id, *o);
}

std::optional<principal> user_directory::find(const store::transaction& txn,
                                              std::string_view name) const {
    auto id = objects_.find_unique(txn, users_, *users_.find("name"), name);
    if (!id) return std::nullopt;
    return find(txn, *id);
}

std::optional<principal> user_directory::verify(std::string_view name,
                                                std::string_view password) const {
    std::optional<principal> who;
    std::string hash;
    {
        auto txn = objects_.env().read();
        auto id = objects_.find_unique(txn, users_, *users_.find("name"), name);
        if (id)
            if (auto o = objects_.get(txn, users_, *id)) {
                who = to_principal(*id, *o);
                if (auto it = o->find("password"); it != o->end()) hash = it->value().as_string();
            }
    }
    if (!who || hash.empty()) {
        // The same argon2 work as for a real user, so that timing does not tell which names exist.
        std::call_once(dummy_once_,
                       [this] { dummy_hash_ = hash_password(random_password(), cost_); });
        verify_password(dummy_hash_, password);
        return std::nullopt;
    }
    if (!verify_password(hash, password)) return std::nullopt;
    return who;
}

result<std::uint64_t> user_directory::add(store::transaction& txn, std::string_view name, role r,
                                          std::string_view password) const {
    json::object o{
        {"name", name}, {"role", role_name(r)}, {"password", hash_password(password, cost_)}};
    return objects_.create(txn, users_, std::move(o));
}

result<void> user_directory::set_password(store::transaction& txn, std::uint64_t id,
                                          std::string_view password) const {
    auto o = objects_.get(txn, users_, id);
    if (!o) return api_error::not_found("no user " + std::to_string(id));
    auto after = *o;
    after["password"] = hash_password(password, cost_);
    revoke_api_key(txn, id);  // whoever knew the old password may have issued it
    return objects_.replace(txn, users_, id, *o, std::move(after));
}

std::string user_directory::issue_api_key(store::transaction& txn, std::uint64_t user_id) const {
    revoke_api_key(txn, user_id);
    auto token = new_token();
    auto digest = token_digest(token);
    txn.put(keys_, digest, store::u64_key(user_id));
    txn.put(key_of_user_, store::u64_key(user_id), digest);
    return token;
}

bool user_directory::revoke_api_key(store::transaction& txn, std::uint64_t user_id) const {
    auto digest = txn.get(key_of_user_, store::u64_key(user_id));
    if (!digest) return false;
    txn.erase(keys_, std::string(*digest));
    txn.erase(key_of_user_, store::u64_key(user_id));
    return true;
}

std::optional<std::uint64_t> user_directory::api_key_user(const store::transaction& txn,
                                                          std::string_view token) const {
    if (!looks_like_token(token)) return std::nullopt;
    auto id = txn.get(keys_, token_digest(token));
    if (!id) return std::nullopt;
    return store::read_u64(*id);
}

namespace {

// Creates `path` holding `secret`, readable by its owner alone from its first instant. An existing
// file or symbolic link there is refused, not followed or overwritten: someone may have planted it
// to have the secret written where they can read it.
void create_secret_file(const std::filesystem::path& path, const std::string& secret) {
    int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        int error = errno;
        if (error == EEXIST || error == ELOOP)
            throw std::runtime_error(path.string() +
                                     " exists (a file or a symbolic link) but the store has no "
                                     "users: remove it and start again, or set "
                                     "AUDEX_ADMIN_PASSWORD");
        throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(error));
    }
    auto text = secret + "\n";
    bool written =
        ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!written) {
        ::unlink(path.c_str());
        throw std::runtime_error("cannot write " + path.string());
    }
}

}  // namespace

std::optional<std::string> user_directory::bootstrap(const std::filesystem::path& data,
                                                     std::optional<std::string> password) const {
    bool generated = !password;
    std::string secret = generated ? random_password() : *password;
    auto file = data / "initial-admin-password";
    bool file_created = false;  // the body runs again when LMDB grows its map: created once
    try {
        return objects_.env().write([&](store::transaction& txn) -> std::optional<std::string> {
            bool any = false;
            objects_.scan(txn, users_, 0, [&](std::uint64_t, const store::stored_object&) {
                any = true;
                return false;
            });
            if (any) return std::nullopt;
            if (auto id = add(txn, "admin", role::superadmin, secret); !id)
                throw std::runtime_error(id.error().message);
            if (!generated)
                return "created superadmin 'admin' with the password from AUDEX_ADMIN_PASSWORD";
            // Before the commit: an admin whose password could not be handed over safely is not
            // created.
            if (!file_created) create_secret_file(file, secret);
            file_created = true;
            // The password itself never goes to the log, which others may read or collect.
            return "created superadmin 'admin'; its password is in " + file.string();
        });
    } catch (...) {
        // No admin was created: the file would only stop the next start.
        if (file_created) ::unlink(file.c_str());
        throw;
    }
}

}  // namespace audex::auth
