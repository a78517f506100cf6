// Cryptographic primitives of authentication over libsodium: see crypto.hpp.
#include "auth/crypto.hpp"

#include <sodium.h>

#include <stdexcept>

namespace audex::auth {

namespace {

constexpr std::size_t token_bytes = token_length / 2;
static_assert(token_digest_length == crypto_hash_sha256_BYTES);

// A static local so that concurrent first calls initialise once; a failed initialisation throws
// out of the initialiser and is therefore retried by the next call.
void ensure_init() {
    static const bool initialised = [] {
        if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
        return true;
    }();
    (void)initialised;
}

void check_cost(const password_cost& cost) {
    if (cost.ops < crypto_pwhash_OPSLIMIT_MIN || cost.ops > crypto_pwhash_OPSLIMIT_MAX)
        throw std::invalid_argument("password hash ops limit out of range");
    if (cost.mem < crypto_pwhash_MEMLIMIT_MIN || cost.mem > crypto_pwhash_MEMLIMIT_MAX)
        throw std::invalid_argument("password hash memory limit out of range");
}

// libsodium reads stored hashes as C strings: refuse what a C string cannot represent faithfully
// rather than let it be truncated at a NUL.
bool usable_hash_string(std::string_view stored_hash) {
    return !stored_hash.empty() && stored_hash.size() < crypto_pwhash_STRBYTES &&
           stored_hash.find('\0') == std::string_view::npos;
}

}  // namespace

void init() {
    ensure_init();
}

password_cost password_cost::interactive() {
    return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

password_cost password_cost::minimum() {
    return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

std::string hash_password(std::string_view password, const password_cost& cost) {
    ensure_init();
    check_cost(cost);
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost.ops, cost.mem,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw std::runtime_error("password hashing failed (out of memory)");
    return out;
}

bool verify_password(std::string_view stored_hash, std::string_view password) {
    ensure_init();
    if (!usable_hash_string(stored_hash)) return false;
    const std::string hash(stored_hash);
    return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

bool password_needs_rehash(std::string_view stored_hash, const password_cost& cost) {
    ensure_init();
    if (!usable_hash_string(stored_hash)) return true;
    const std::string hash(stored_hash);
    return crypto_pwhash_str_needs_rehash(hash.c_str(), cost.ops, cost.mem) != 0;
}

std::string new_token() {
    ensure_init();
    unsigned char bytes[token_bytes];
    randombytes_buf(bytes, sizeof bytes);
    static constexpr char digits[] = "0123456789abcdef";
    std::string token(token_length, '\0');
    for (std::size_t i = 0; i < token_bytes; ++i) {
        token[2 * i] = digits[bytes[i] >> 4];
        token[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
    sodium_memzero(bytes, sizeof bytes);
    return token;
}

bool looks_like_token(std::string_view text) {
    if (text.size() != token_length) return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

std::string token_digest(std::string_view token) {
    ensure_init();
    std::string digest(token_digest_length, '\0');
    crypto_hash_sha256(reinterpret_cast<unsigned char*>(digest.data()),
                       reinterpret_cast<const unsigned char*>(token.data()), token.size());
    return digest;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    ensure_init();
    if (a.size() != b.size()) return false;
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_password() {
    ensure_init();
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static_assert(sizeof alphabet - 1 == 64);
    std::string password(20, '\0');
    for (char& c : password)
        c = alphabet[randombytes_uniform(64)];
    return password;
}

}  // namespace audex::auth
