// Cryptographic primitives of authentication: argon2id password hashes, random tokens and their
// storage digests, constant-time comparison. A thin layer over libsodium.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace audex::auth {

// Initialises libsodium. Idempotent and thread-safe; every function below calls it, so an
// explicit call only moves a failure (std::runtime_error) to a predictable place, e.g. startup.
void init();

// The argon2id cost of a password hash. The cost is stored in each hash, so hashes made with
// different costs all verify.
struct password_cost {
    unsigned long long ops;
    std::size_t mem;  // bytes

    // libsodium's OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE (2 passes, 64 MiB): production.
    static password_cost interactive();
    // The smallest cost argon2id accepts (1 pass, 8 KiB): tests and benchmarks only, never
    // production.
    static password_cost minimum();
};

// An argon2id hash in the PHC string form ("$argon2id$v=19$m=...,t=...,p=1$salt$hash") with a
// fresh random salt. Throws std::invalid_argument for a cost below the minimum and
// std::runtime_error when the memory cannot be had.
std::string hash_password(std::string_view password,
                          const password_cost& cost = password_cost::interactive());

// False for a wrong password and for anything that is not a valid hash string.
bool verify_password(std::string_view stored_hash, std::string_view password);

// Whether a stored hash was made with another cost or algorithm than `cost` (or is invalid), so
// that a successful login can re-hash the password with the current setting.
bool password_needs_rehash(std::string_view stored_hash,
                           const password_cost& cost = password_cost::interactive());

// Length of a token: 160 random bits as lowercase hex.
inline constexpr std::size_t token_length = 40;
// Length of token_digest(): SHA-256.
inline constexpr std::size_t token_digest_length = 32;

// A new 160-bit CSPRNG token, 40 lowercase hex characters.
std::string new_token();

// Whether `text` has the form of a token (40 lowercase hex characters), to tell tokens from other
// credentials without a lookup.
bool looks_like_token(std::string_view text);

// SHA-256 of a token as 32 raw bytes: what is stored and looked up instead of the token, so that
// a copy of the store or of memory yields no usable token.
std::string token_digest(std::string_view token);

// Compares in time that depends only on the length, so that a secret's prefix cannot be found by
// timing. Different lengths compare unequal (lengths are not secret here).
bool equal_constant_time(std::string_view a, std::string_view b);

// A random password of 20 URL-safe characters (A-Z a-z 0-9 - _), 120 bits: the first-start admin.
std::string random_password();

}  // namespace audex::auth
