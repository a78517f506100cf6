// The `audex` command: `serve` runs the server; `user` manages users and API keys directly on a
// data directory; `import` brings recorded sessions in.
#include "activity/activity_log.hpp"
#include "api/app.hpp"
#include "api/v2/local_api.hpp"
#include "auth/crypto.hpp"
#include "http/server.hpp"
#include "ingest/importer.hpp"
#include "ingest/remote_api.hpp"
#include "store/lmdb.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

namespace {

using namespace audex;

struct serve_options {
    std::string listen = "127.0.0.1:8443";
    bool plain = false;
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    unsigned session_timeout = 600;
    std::string access_log = "stderr";
    unsigned read_timeout = 30;
    unsigned idle_timeout = 60;
    unsigned first_byte_timeout = 10;
    std::size_t max_connections = 10000;
    std::size_t max_connections_per_client = 256;
    std::uint64_t max_store_mib = 1 << 20;
    std::uint64_t body_budget_mib = 1024;
    unsigned content_grace = 3600;
    unsigned seal_after = 7 * 24 * 3600;
    unsigned activity_flush_ms = 1000;
    unsigned workers = std::max(1u, std::thread::hardware_concurrency());
    unsigned ingest_workers = std::max(1u, std::thread::hardware_concurrency());
    unsigned request_deadline_ms = 30000;
};

// Each connection holds a descriptor: the soft limit (often 1024) would refuse connections long
// before --max-connections, so it is raised to the hard limit.
void raise_open_file_limit(std::size_t wanted) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
        spdlog::warn("could not raise the open file limit: {}", std::strerror(errno));
    getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < wanted + 64)
        spdlog::warn("the open file limit ({}) is below --max-connections ({})", limit.rlim_cur,
                     wanted);
}

std::pair<std::string, std::uint16_t> split_listen(const std::string& listen) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) throw CLI::ValidationError("--listen", "expected ADDR:PORT");
    auto host = listen.substr(0, colon);
    if (host.size() > 1 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    return {host, static_cast<std::uint16_t>(std::stoul(listen.substr(colon + 1)))};
}

// AUDEX_PASSWORD_COST=minimum makes password hashes trivial to crack: it is for tests and
// benchmarks, which listen on loopback, so a server reachable from elsewhere refuses it rather than
// run with it unnoticed.
auth::password_cost test_password_cost(std::string_view cost, const std::string& listen) {
    if (cost != "minimum")
        throw std::runtime_error("AUDEX_PASSWORD_COST must be 'minimum' or unset, not '" +
                                 std::string(cost) + "'");
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(split_listen(listen).first, ec);
    if (ec || !address.is_loopback())
        throw std::runtime_error(
            "AUDEX_PASSWORD_COST=minimum is for tests on a loopback address, "
            "not --listen " +
            listen + ": unset it");
    spdlog::warn("AUDEX_PASSWORD_COST=minimum: password hashes are cheap to crack (tests only)");
    return auth::password_cost::minimum();
}

// This node's serial number, created once per data directory.
std::string node_serial(store::object_store& objects) {
    return objects.env().write([&](store::transaction& txn) {
        if (auto serial = objects.meta(txn, "node_serial")) return *serial;
        std::string serial = "AUDEX-" + auth::new_token().substr(0, 12);
        for (auto& c : serial)
            c = char(std::toupper(static_cast<unsigned char>(c)));
        objects.set_meta(txn, "node_serial", serial);
        return serial;
    });
}

int serve(const std::string& data, const serve_options& o) {
    // Before anything is written: a refused setting leaves the data directory as it was.
    std::optional<auth::password_cost> cheap_cost;
    if (const char* cost = std::getenv("AUDEX_PASSWORD_COST"); cost && *cost)
        cheap_cost = test_password_cost(cost, o.listen);
    if (o.access_log == "off") {
        auto access = std::make_shared<spdlog::logger>("access");
        access->set_level(spdlog::level::off);
        spdlog::register_logger(access);
    } else {
        // Access lines go through a queue so that no request waits on the terminal or the disk.
        spdlog::init_thread_pool(65536, 1);
        auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        auto access = std::make_shared<spdlog::async_logger>(
            "access", sink, spdlog::thread_pool(), spdlog::async_overflow_policy::overrun_oldest);
        spdlog::register_logger(access);
    }
    raise_open_file_limit(o.max_connections);
    auth::init();
    store::environment_options store_options;
    store_options.max_map_size = o.max_store_mib << 20;
    store_options.initial_map_size =
        std::min(store_options.initial_map_size, store_options.max_map_size);
    store::environment env(data, store_options);
    api::app_settings settings;
    settings.session_timeout = std::chrono::seconds(o.session_timeout);
    settings.content_grace = std::chrono::seconds(o.content_grace);
    settings.seal_after = std::chrono::seconds(o.seal_after);
    settings.activity_flush_delay = std::chrono::milliseconds(o.activity_flush_ms);
    settings.workers = o.workers;
    settings.ingest_workers = o.ingest_workers;
    settings.request_deadline = std::chrono::milliseconds(o.request_deadline_ms);
    {
        store::object_store objects(env);
        settings.node_serial = node_serial(objects);
    }
    if (cheap_cost) settings.password_cost = *cheap_cost;
    api::app application(settings, env);
    std::optional<std::string> password;
    if (const char* p = std::getenv("AUDEX_ADMIN_PASSWORD"); p && *p) password = p;
    if (auto line = application.users().bootstrap(data, password)) spdlog::warn("{}", *line);

    http::server_config config;
    std::tie(config.address, config.port) = split_listen(o.listen);
    config.tls = !o.plain;
    config.certificate = std::filesystem::path(data) / "tls" / "certificate.pem";
    config.private_key = std::filesystem::path(data) / "tls" / "private-key.pem";
    config.threads = o.threads;
    config.limits.read_timeout = std::chrono::seconds(o.read_timeout);
    config.limits.idle_timeout = std::chrono::seconds(o.idle_timeout);
    config.limits.first_byte_timeout = std::chrono::seconds(o.first_byte_timeout);
    config.limits.max_connections = o.max_connections;
    config.limits.max_connections_per_client = o.max_connections_per_client;
    config.limits.body_budget = o.body_budget_mib << 20;
    http::server server(config, application);
    server.listen();
    spdlog::info("audex ready on {}://{}:{} (data {}, {} I/O threads, {} workers)",
                 o.plain ? "http" : "https", config.address, server.port(), data, o.threads,
                 o.workers);
    server.run();
    spdlog::info("audex stopped");
    return 0;
}

// The token of `import --url`: from a file or the environment, never from the command line, which
// every user of the machine sees in `ps`.
std::string import_token(const std::string& token_file) {
    std::string token;
    if (!token_file.empty()) {
        std::ifstream in(token_file);
        if (!in) throw std::runtime_error("cannot read --token-file " + token_file);
        std::getline(in, token);
    } else if (const char* t = std::getenv("AUDEX_TOKEN")) {
        token = t;
    }
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
        token.pop_back();
    if (token.empty())
        throw std::runtime_error(token_file.empty()
                                     ? "--url needs a token: --token-file FILE or AUDEX_TOKEN"
                                     : "--token-file " + token_file + " holds no token");
    return token;
}

std::string read_password(bool from_stdin) {
    std::string password;
    if (!from_stdin && isatty(STDIN_FILENO)) std::cerr << "password: " << std::flush;
    std::getline(std::cin, password);
    if (password.size() < 8) throw std::runtime_error("the password needs at least 8 characters");
    return password;
}

// The storage report (domain::storage) as a table: one partition a line, then the catalog.
void print_storage(const boost::json::object& report) {
    std::printf("%-9s %12s %14s %16s %-7s\n", "partition", "sessions", "records", "bytes", "state");
    for (auto& v : report.at("items").as_array()) {
        auto& p = v.as_object();
        std::printf("%-9s %12llu %14llu %16llu %-7s\n", p.at("name").as_string().c_str(),
                    static_cast<unsigned long long>(p.at("sessions").to_number<std::uint64_t>()),
                    static_cast<unsigned long long>(p.at("records").to_number<std::uint64_t>()),
                    static_cast<unsigned long long>(p.at("bytes").to_number<std::uint64_t>()),
                    p.at("state").as_string().c_str());
    }
    std::printf("%-9s %12s %14s %16llu\n", "catalog", "", "",
                static_cast<unsigned long long>(
                    report.at("meta").at("catalog_bytes").to_number<std::uint64_t>()));
}

}  // namespace

int main(int argc, char** argv) {
    store::keep_freed_memory();
    CLI::App cli{"Audex: the audit store of a privileged-access appliance"};
    cli.require_subcommand(1);
    std::string data = "./var";

    serve_options serve_opts;
    auto* serve_cmd = cli.add_subcommand("serve", "Run the HTTP(S) API server");
    serve_cmd->add_option("--data", data, "Data directory")->capture_default_str();
    serve_cmd->add_option("--listen", serve_opts.listen, "ADDR:PORT to listen on")
        ->capture_default_str();
    serve_cmd->add_flag("--plain", serve_opts.plain, "Serve plain HTTP instead of TLS");
    serve_cmd
        ->add_option("--threads", serve_opts.threads,
                     "I/O threads: connections, TLS, and requests whose work is small")
        ->capture_default_str()
        ->check(CLI::Range(1u, 1024u));
    serve_cmd
        ->add_option("--workers", serve_opts.workers,
                     "Threads for the work of searches, lists, stats and logins")
        ->capture_default_str()
        ->check(CLI::Range(1u, 1024u));
    serve_cmd
        ->add_option("--ingest-workers", serve_opts.ingest_workers,
                     "Threads for recorders' work: content parsing and matching, Basic credentials")
        ->capture_default_str()
        ->check(CLI::Range(1u, 1024u));
    serve_cmd
        ->add_option("--request-deadline-ms", serve_opts.request_deadline_ms,
                     "Milliseconds a request's work may take; past it the request answers 503")
        ->capture_default_str()
        ->check(CLI::Range(1u, 3600000u));
    serve_cmd
        ->add_option("--session-timeout", serve_opts.session_timeout,
                     "Idle seconds before a login session expires")
        ->capture_default_str()
        ->check(CLI::Range(1u, 86400u * 365));
    serve_cmd->add_option("--access-log", serve_opts.access_log, "stderr or off")
        ->capture_default_str()
        ->check(CLI::IsMember({"stderr", "off"}));
    serve_cmd
        ->add_option("--read-timeout", serve_opts.read_timeout,
                     "Seconds to read one request once its first byte has arrived")
        ->capture_default_str()
        ->check(CLI::Range(1u, 3600u));
    serve_cmd
        ->add_option("--idle-timeout", serve_opts.idle_timeout,
                     "Seconds a keep-alive connection may wait for its next request")
        ->capture_default_str()
        ->check(CLI::Range(1u, 86400u));
    serve_cmd
        ->add_option("--first-byte-timeout", serve_opts.first_byte_timeout,
                     "Seconds a new connection may take to begin its first request (at most "
                     "--idle-timeout)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 86400u));
    serve_cmd
        ->add_option("--max-connections", serve_opts.max_connections,
                     "Open connections; more are closed as soon as they are accepted")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t(1), std::size_t(1) << 20));
    serve_cmd
        ->add_option("--max-connections-per-client", serve_opts.max_connections_per_client,
                     "Open connections from one client address; more are closed as soon as they "
                     "are accepted")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t(1), std::size_t(1) << 20));
    serve_cmd
        ->add_option("--max-store-mib", serve_opts.max_store_mib,
                     "Largest size of the store in MiB; writes past it answer 503")
        ->capture_default_str()
        ->check(CLI::Range(std::uint64_t(1), std::uint64_t(1) << 30));
    serve_cmd
        ->add_option("--content-grace", serve_opts.content_grace,
                     "Seconds after its end that a session still takes content")
        ->capture_default_str()
        ->check(CLI::Range(0u, 86400u * 365));
    serve_cmd
        ->add_option("--seal-after", serve_opts.seal_after,
                     "Seconds after its month ended, and after its last write, that a partition is "
                     "sealed, once it can be; 0: never by itself")
        ->capture_default_str()
        ->check(CLI::Range(0u, 86400u * 36500));
    serve_cmd
        ->add_option("--activity-flush-ms", serve_opts.activity_flush_ms,
                     "Milliseconds within which the activity log entries of reads are durable")
        ->capture_default_str()
        ->check(CLI::Range(1u, 60000u));
    serve_cmd
        ->add_option("--body-budget-mib", serve_opts.body_budget_mib,
                     "Request body MiB held by all connections together; more answer 503")
        ->capture_default_str()
        ->check(CLI::Range(std::uint64_t(1), std::uint64_t(1) << 20));

    auto* user_cmd = cli.add_subcommand("user", "Manage users directly on a data directory");
    user_cmd->require_subcommand(1);
    user_cmd->add_option("--data", data, "Data directory")->capture_default_str();
    std::string name, role = "operator";
    bool password_stdin = false;
    auto* add_cmd = user_cmd->add_subcommand("add", "Create a user (password read from stdin)");
    add_cmd->add_option("NAME", name, "User name")->required();
    add_cmd->add_option("--role", role, "user, service, operator, admin or superadmin")
        ->capture_default_str();
    add_cmd->add_flag("--password-stdin", password_stdin,
                      "Read the password from stdin without a prompt");
    auto* passwd_cmd =
        user_cmd->add_subcommand("passwd", "Set a user's password (read from stdin)");
    passwd_cmd->add_option("NAME", name, "User name")->required();
    passwd_cmd->add_flag("--password-stdin", password_stdin,
                         "Read the password from stdin without a prompt");
    auto* apikey_cmd =
        user_cmd->add_subcommand("apikey", "Issue a new API key for a user and print it");
    apikey_cmd->add_option("NAME", name, "User name")->required();

    // `--data` may also follow the user subcommands: `audex user add NAME --data DIR`.
    for (auto* sub : {add_cmd, passwd_cmd, apikey_cmd})
        sub->fallthrough();

    auto* import_cmd = cli.add_subcommand("import", "Import recorded sessions");
    import_cmd->require_subcommand(1);
    auto* asciicast_cmd = import_cmd->add_subcommand(
        "asciicast",
        "Import an asciinema v2 recording as a session with its commands and screen "
        "text; prints the session id");
    std::string file, url, token_file, import_data;
    ingest::import_options import_opts;
    ingest::tls_options import_tls;
    asciicast_cmd->add_option("FILE", file, "The recording (.cast)")->required();
    auto* target = asciicast_cmd->add_option_group("target", "Where the session goes");
    auto* url_opt = target->add_option("--url", url, "Audex server, e.g. https://host:8443");
    target->add_option("--data", import_data, "Data directory, written in-process");
    target->require_option(1);
    asciicast_cmd
        ->add_option("--token-file", token_file,
                     "File holding the API key or login token for --url (else AUDEX_TOKEN)")
        ->needs(url_opt);
    auto* cacert_opt =
        asciicast_cmd
            ->add_option("--cacert", import_tls.ca_file,
                         "PEM certificates to verify an https --url with, instead of the system's")
            ->needs(url_opt);
    asciicast_cmd
        ->add_flag("--insecure", import_tls.insecure,
                   "Do not verify the certificate of an https --url")
        ->needs(url_opt)
        ->excludes(cacert_opt);
    asciicast_cmd->add_option("--user", import_opts.user, "User name (created when missing)")
        ->required();
    asciicast_cmd->add_option("--server", import_opts.server, "Server name (created when missing)")
        ->required();
    asciicast_cmd->add_option("--protocol", import_opts.protocol, "Session protocol")
        ->capture_default_str();
    auto* activity_cmd = cli.add_subcommand("activity", "The activity log");
    activity_cmd->require_subcommand(1);
    auto* verify_cmd = activity_cmd->add_subcommand(
        "verify",
        "Check that no entry of the activity log was removed or edited; exit 1 if one was");
    verify_cmd->add_option("--data", data, "Data directory")->capture_default_str();

    auto* storage_cmd =
        cli.add_subcommand("storage", "The store's monthly partitions and what each holds");
    storage_cmd->add_option("--data", data, "Data directory")->capture_default_str();
    std::string partition;
    unsigned storage_grace = 3600;
    auto* seal_cmd = storage_cmd->add_subcommand(
        "seal", "Seal a partition: its sessions, content and alerts are final from now on");
    seal_cmd->add_option("partition", partition, "The partition (YYYY-MM)")->required();
    seal_cmd->add_option("--content-grace", storage_grace, "As for `audex serve`")
        ->capture_default_str();
    auto* unseal_cmd = storage_cmd->add_subcommand("unseal", "Open a sealed partition again");
    unseal_cmd->add_option("partition", partition, "The partition (YYYY-MM)")->required();
    seal_cmd->fallthrough();  // --data after the partition
    unseal_cmd->fallthrough();

    CLI11_PARSE(cli, argc, argv);
    try {
        if (serve_cmd->parsed()) return serve(data, serve_opts);
        if (verify_cmd->parsed()) {
            store::environment env(data);
            activity::activity_log log(env, std::chrono::seconds(1));
            auto v = log.verify(env.read());
            if (v.broken_at) {
                std::cout << "the activity log is broken at entry " << *v.broken_at << ": "
                          << v.reason << "\n";
                return 1;
            }
            std::cout << "the activity log holds together: " << v.entries << " entries\n";
            return 0;
        }
        if (storage_cmd->parsed()) {
            api::local_api local(data);
            if (seal_cmd->parsed() || unseal_cmd->parsed()) {
                auto done = seal_cmd->parsed()
                                ? local.seal(partition, micros(storage_grace) * 1'000'000)
                                : local.unseal(partition);
                if (!done) throw std::runtime_error(done.error().message);
            }
            print_storage(local.storage());
            return 0;
        }
        if (asciicast_cmd->parsed()) {
            ingest::api_client client;
            std::optional<api::local_api> local;
            if (url.empty()) {
                auth::init();
                local.emplace(import_data);
                client = [&](const ingest::api_request& r) {
                    return local->execute({r.method, api::path_segments(r.path), r.params, r.body});
                };
            } else {
                auto token = import_token(token_file);
                if (import_tls.insecure)
                    std::cerr << "warning: --insecure: the certificate of " << url
                              << " is not verified; whoever intercepts the connection gets the "
                                 "token\n";
                client = ingest::remote_api(url, std::move(token), import_tls);
            }
            auto imported =
                ingest::import_asciicast(file, import_opts, client, isatty(STDOUT_FILENO));
            if (!imported.replaced_session_id.empty())
                std::cerr << file << ": session " << imported.replaced_session_id
                          << " held an import of it that had stopped part way: removed\n";
            if (imported.already_imported)
                std::cerr << file << ": imported before as session " << imported.session_id
                          << "; nothing changed\n";
            std::cout << imported.session_id << "\n";
            return 0;
        }

        auth::init();
        store::environment env(data);
        store::object_store objects(env);
        auth::user_directory users(objects, auth::password_cost::interactive());
        if (add_cmd->parsed()) {
            auto r = auth::parse_role(role);
            if (!r) throw std::runtime_error("unknown role '" + role + "'");
            auto password = read_password(password_stdin);
            auto id = env.write(
                [&](store::transaction& txn) { return users.add(txn, name, *r, password); });
            if (!id) throw std::runtime_error(id.error().message);
            std::cout << *id << "\n";
        } else {
            auto who = [&] {
                auto txn = env.read();
                auto p = users.find(txn, name);
                if (!p) throw std::runtime_error("no user named '" + name + "'");
                return *p;
            }();
            if (passwd_cmd->parsed()) {
                auto password = read_password(password_stdin);
                auto ok = env.write([&](store::transaction& txn) {
                    return users.set_password(txn, who.user_id, password);
                });
                if (!ok) throw std::runtime_error(ok.error().message);
            } else {
                std::cout << env.write([&](store::transaction& txn) {
                    return users.issue_api_key(txn, who.user_id);
                }) << "\n";
            }
        }
        return 0;
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
}
