// Tests of the password hashes, tokens, digests and comparisons of auth/crypto.hpp.
#include <boost/test/unit_test.hpp>

#include <set>
#include <stdexcept>
#include <string>

#include "auth/crypto.hpp"

using namespace audex::auth;
using namespace std::string_literals;

namespace {
std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0x0f];
    }
    return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(auth_crypto)

BOOST_AUTO_TEST_CASE(init_is_idempotent) {
    init();
    init();
}

BOOST_AUTO_TEST_CASE(hash_and_verify_round_trip) {
    const auto cost = password_cost::minimum();
    const std::string hash = hash_password("correct horse", cost);
    BOOST_TEST(hash.starts_with("$argon2id$"));
    BOOST_TEST(verify_password(hash, "correct horse"));
    BOOST_TEST(!verify_password(hash, "correct horsE"));
    BOOST_TEST(!verify_password(hash, ""));
    BOOST_TEST(!verify_password(hash, "correct horse "));
}

BOOST_AUTO_TEST_CASE(hashes_are_salted) {
    const auto cost = password_cost::minimum();
    const std::string a = hash_password("secret", cost), b = hash_password("secret", cost);
    BOOST_TEST(a != b);
    BOOST_TEST(verify_password(a, "secret"));
    BOOST_TEST(verify_password(b, "secret"));
}

BOOST_AUTO_TEST_CASE(passwords_are_binary_safe) {
    const auto cost = password_cost::minimum();
    const std::string hash = hash_password("a\0b"s, cost);
    BOOST_TEST(verify_password(hash, "a\0b"s));
    BOOST_TEST(!verify_password(hash, "a"));
    const std::string empty = hash_password("", cost);
    BOOST_TEST(verify_password(empty, ""));
    BOOST_TEST(!verify_password(empty, "x"));
}

BOOST_AUTO_TEST_CASE(invalid_stored_hashes_do_not_verify) {
    BOOST_TEST(!verify_password("", ""));
    BOOST_TEST(!verify_password("not a hash", "not a hash"));
    BOOST_TEST(!verify_password("$argon2id$v=19$m=8,t=1,p=1$", ""));
    const std::string hash = hash_password("pw", password_cost::minimum());
    BOOST_TEST(!verify_password(hash.substr(0, hash.size() - 2), "pw"));
    BOOST_TEST(!verify_password(hash + '\0' + "junk", "pw"));
    BOOST_TEST(!verify_password(std::string(1000, '$'), "pw"));
}

BOOST_AUTO_TEST_CASE(interactive_cost_is_the_default) {
    const std::string hash = hash_password("pw");
    BOOST_TEST(hash.starts_with("$argon2id$v=19$m=65536,t=2,p=1$"));
    BOOST_TEST(verify_password(hash, "pw"));
    BOOST_TEST(!password_needs_rehash(hash));
}

BOOST_AUTO_TEST_CASE(rehash_is_needed_when_the_cost_changed) {
    const std::string cheap = hash_password("pw", password_cost::minimum());
    BOOST_TEST(password_needs_rehash(cheap));
    BOOST_TEST(!password_needs_rehash(cheap, password_cost::minimum()));
    BOOST_TEST(password_needs_rehash("garbage"));
}

BOOST_AUTO_TEST_CASE(cost_below_minimum_is_refused) {
    const auto min = password_cost::minimum();
    BOOST_CHECK_THROW(hash_password("pw", {0, min.mem}), std::invalid_argument);
    BOOST_CHECK_THROW(hash_password("pw", {min.ops, min.mem - 1}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(tokens_are_40_lowercase_hex_and_distinct) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string token = new_token();
        BOOST_TEST(token.size() == 40u);
        BOOST_TEST(token.find_first_not_of("0123456789abcdef") == std::string::npos);
        BOOST_TEST(looks_like_token(token));
        seen.insert(token);
    }
    BOOST_TEST(seen.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(token_syntax) {
    BOOST_TEST(looks_like_token(std::string(40, 'a')));
    BOOST_TEST(!looks_like_token(std::string(40, 'A')));
    BOOST_TEST(!looks_like_token(std::string(39, 'a')));
    BOOST_TEST(!looks_like_token(std::string(41, 'a')));
    BOOST_TEST(!looks_like_token(std::string(39, 'a') + 'g'));
    BOOST_TEST(!looks_like_token(""));
}

BOOST_AUTO_TEST_CASE(digest_is_sha256_raw_and_stable) {
    const std::string token = new_token();
    const std::string digest = token_digest(token);
    BOOST_TEST(digest.size() == 32u);
    BOOST_TEST(digest.size() == token_digest_length);
    BOOST_TEST(token_digest(token) == digest);
    BOOST_TEST(token_digest(new_token()) != digest);
    BOOST_TEST(hex(token_digest("abc")) ==
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    BOOST_TEST(token_digest("").size() == 32u);
}

BOOST_AUTO_TEST_CASE(constant_time_comparison) {
    BOOST_TEST(equal_constant_time("", ""));
    BOOST_TEST(equal_constant_time("abc", "abc"));
    BOOST_TEST(!equal_constant_time("abc", "abd"));
    BOOST_TEST(!equal_constant_time("abc", "abcd"));
    BOOST_TEST(!equal_constant_time("", "a"));
    BOOST_TEST(equal_constant_time("a\0b"s, "a\0b"s));
    BOOST_TEST(!equal_constant_time("a\0b"s, "a\0c"s));
}

BOOST_AUTO_TEST_CASE(random_passwords_are_url_safe_and_distinct) {
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        const std::string pw = random_password();
        BOOST_TEST(pw.size() == 20u);
        BOOST_TEST(pw.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789-_") == std::string::npos);
        seen.insert(pw);
    }
    BOOST_TEST(seen.size() == 200u);
}

BOOST_AUTO_TEST_SUITE_END()
