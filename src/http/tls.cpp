// TLS for the transport: the server's SSL context and the self-signed certificate an appliance
// generates on first start.
#include "http/tls.hpp"

#include "http/server.hpp"

#include <boost/asio/ip/address.hpp>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace audex::http {

namespace {

constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* tls13_ciphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

[[noreturn]] void throw_openssl(const std::string& what) {
    std::string message = what;
    if (unsigned long code = ERR_get_error(); code != 0) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        message += ": ";
        message += text;
    }
    ERR_clear_error();
    throw std::runtime_error(message);
}

template <class T, void (*Free)(T*)>
struct openssl_deleter {
    void operator()(T* p) const { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;
using extension_ptr =
    std::unique_ptr<X509_EXTENSION, openssl_deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using bignum_ptr = std::unique_ptr<BIGNUM, openssl_deleter<BIGNUM, BN_free>>;

struct file_closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

void add_extension(X509* cert, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    extension_ptr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str())};
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
        throw_openssl("cannot add certificate extension " + value);
}

std::string subject_alt_names(const std::string& host) {
    std::vector<std::string> names;
    auto add = [&](std::string entry) {
        if (std::find(names.begin(), names.end(), entry) == names.end())
            names.push_back(std::move(entry));
    };
    if (!host.empty()) {
        boost::system::error_code ec;
        boost::asio::ip::make_address(host, ec);
        add((ec ? "DNS:" : "IP:") + host);
    }
    // Clients on the appliance itself reach it as localhost; keep those names valid too.
    add("DNS:localhost");
    add("IP:127.0.0.1");
    std::string joined;
    for (const auto& entry : names)
        joined += (joined.empty() ? "" : ",") + entry;
    return joined;
}

// Opens `path` for writing with `mode` from the start, so a key is never readable by others even
// for an instant.
file_ptr open_for_writing(const std::filesystem::path& path, mode_t mode) {
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) throw std::runtime_error("cannot create " + path.string());
    if (::fchmod(fd, mode) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot set the mode of " + path.string());
    }
    file_ptr file{::fdopen(fd, "w")};
    if (!file) {
        ::close(fd);
        throw std::runtime_error("cannot open " + path.string());
    }
    return file;
}

}  // namespace

void create_self_signed_certificate(const std::filesystem::path& certificate,
                                    const std::filesystem::path& private_key,
                                    const std::string& host) {
    pkey_ptr key{EVP_EC_gen("P-256")};
    if (!key) throw_openssl("cannot generate an EC P-256 key");

    x509_ptr cert{X509_new()};
    if (!cert) throw_openssl("cannot allocate a certificate");
    X509_set_version(cert.get(), X509_VERSION_3);

    // A random positive 127-bit serial: browsers reject repeated serials from one issuer name.
    unsigned char serial_bytes[16];
    if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) throw_openssl("RAND_bytes failed");
    serial_bytes[0] &= 0x7f;
    bignum_ptr serial{BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr)};
    if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())))
        throw_openssl("cannot set the certificate serial number");

    constexpr int validity_days = 3650;
    if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert.get()), validity_days, 0, nullptr))
        throw_openssl("cannot set the certificate validity");
    if (X509_set_pubkey(cert.get(), key.get()) != 1) throw_openssl("cannot set the public key");

    X509_NAME* name = X509_get_subject_name(cert.get());
    // The common name field holds at most 64 characters; the SAN carries the full host name.
    std::string common_name = host.empty() ? "audex" : host.substr(0, 64);
    auto add_name = [&](const char* field, const std::string& value) {
        if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                       -1, 0) != 1)
            throw_openssl(std::string("cannot set the certificate ") + field);
    };
    add_name("O", "Audex");
    add_name("CN", common_name);
    if (X509_set_issuer_name(cert.get(), name) != 1) throw_openssl("cannot set the issuer");

    add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), NID_subject_key_identifier, "hash");
    add_extension(cert.get(), NID_subject_alt_name, subject_alt_names(host));

    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
        throw_openssl("cannot sign the certificate");

    {
        file_ptr file = open_for_writing(private_key, 0600);
        if (PEM_write_PrivateKey(file.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
                1 ||
            std::fflush(file.get()) != 0)
            throw_openssl("cannot write " + private_key.string());
    }
    {
        file_ptr file = open_for_writing(certificate, 0644);
        if (PEM_write_X509(file.get(), cert.get()) != 1 || std::fflush(file.get()) != 0)
            throw_openssl("cannot write " + certificate.string());
    }
}

namespace detail {

boost::asio::ssl::context make_server_tls_context(const std::filesystem::path& certificate,
                                                  const std::filesystem::path& private_key) {
    namespace ssl = boost::asio::ssl;
    ssl::context ctx{ssl::context::tls_server};
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                    ssl::context::single_dh_use);
    if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1)
        throw_openssl("cannot require TLS 1.2");
    // Mozilla's "intermediate" profile: TLS 1.2 with forward-secret AEAD suites only (no CBC,
    // whose MAC-then-encrypt gave Lucky13 and padding oracles, and no SHA-1 MACs), for ECDSA keys
    // (the generated certificate) and RSA keys (an operator's); TLS 1.3's suites are all AEAD.
    // The client picks among them, as the profile says: all are strong, and a client without
    // AES hardware prefers ChaCha20.
    if (SSL_CTX_set_cipher_list(ctx.native_handle(), tls12_ciphers) != 1)
        throw_openssl("cannot set the TLS 1.2 cipher suites");
    if (SSL_CTX_set_ciphersuites(ctx.native_handle(), tls13_ciphersuites) != 1)
        throw_openssl("cannot set the TLS 1.3 cipher suites");
    if (SSL_CTX_set1_groups_list(ctx.native_handle(), "X25519:prime256v1:secp384r1") != 1)
        throw_openssl("cannot set the key exchange groups");
    ctx.use_certificate_chain_file(certificate.string());
    ctx.use_private_key_file(private_key.string(), ssl::context::pem);
    return ctx;
}

}  // namespace detail

}  // namespace audex::http
