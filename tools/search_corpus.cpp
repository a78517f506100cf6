// The benchmark corpus: a vocabulary of shell words and generated words ranked by a Zipf law, and
// record templates for commands, command output and window titles (see search_corpus.hpp).
#include "search_corpus.hpp"

#include "index/analyzer.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace audex::bench {

namespace {

constexpr std::int64_t second = 1'000'000;
constexpr std::int64_t epoch_base = 1'790'000'000 * second;  // September 2026
constexpr std::int64_t record_spacing = 5 * second;
constexpr std::size_t vocabulary_size = 60'000;

// splitmix64: a record's or a query's own random stream from the seed and its number.
std::uint64_t next(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::uint64_t below(std::uint64_t& state, std::uint64_t n) {
    return next(state) % n;
}

double unit(std::uint64_t& state) {
    return double(next(state) >> 11) / double(1ull << 53);
}

const std::vector<std::string> commands = {
    "ls",      "cd",    "cat",     "grep",   "sudo",    "vim",      "tail",    "systemctl",
    "ps",      "less",  "ssh",     "cp",     "mv",      "rm",       "find",    "df",
    "du",      "top",   "chmod",   "chown",  "docker",  "kubectl",  "git",     "journalctl",
    "curl",    "wget",  "tar",     "mysql",  "psql",    "nano",     "echo",    "export",
    "crontab", "ping",  "netstat", "ss",     "ip",      "iptables", "passwd",  "useradd",
    "scp",     "rsync", "mount",   "umount", "kill",    "free",     "uptime",  "history",
    "awk",     "sed",   "sort",    "uniq",   "head",    "wc",       "openssl", "nginx",
    "apt",     "yum",   "python3", "make",   "tcpdump", "nmap",     "dig",     "hostname"};

const std::vector<std::string> shell_words = {
    "var",       "log",     "etc",      "home",    "root",       "usr",        "bin",
    "tmp",       "opt",     "srv",      "lib",     "local",      "share",      "nginx",
    "apache2",   "error",   "access",   "syslog",  "auth",       "passwd",     "shadow",
    "sudoers",   "hosts",   "conf",     "service", "status",     "restart",    "start",
    "stop",      "enable",  "failed",   "active",  "running",    "inactive",   "warning",
    "info",      "debug",   "critical", "denied",  "permission", "connection", "refused",
    "timeout",   "session", "opened",   "closed",  "user",       "admin",      "backup",
    "deploy",    "config",  "release",  "data",    "db",         "postgres",   "mysql",
    "redis",     "kafka",   "worker",   "cron",    "daily",      "weekly",     "json",
    "yaml",      "txt",     "sh",       "py",      "gz",         "tar",        "key",
    "pem",       "crt",     "ssh",      "sshd",    "kernel",     "systemd",    "docker",
    "container", "image",   "pod",      "node",    "cluster",    "prod",       "staging",
    "dev",       "app",     "api",      "web",     "proxy",      "cache",      "queue",
    "disk",      "memory",  "cpu",      "load",    "pid",        "tcp",        "udp",
    "listen",    "port",    "dev",      "sda",     "sdb",        "mnt",        "alice",
    "bob",       "carol",   "dave",     "eve",     "mallory",    "oracle",     "www",
    "corp",      "example", "internal", "gateway", "firewall",   "vpn",        "dns",
    "ntp"};

const std::vector<std::string> syllables = {
    "ka",  "lo",  "mi",  "ne",  "ru",  "sa",  "te",  "vo",  "zu",  "bri", "cor", "dan", "fel",
    "gor", "hal", "jin", "kor", "lum", "mor", "nix", "pra", "qua", "rin", "sol", "tor", "ul",
    "vex", "wyn", "xar", "yel", "zor", "an",  "el",  "in",  "on",  "ux",  "ber"};

const std::set<std::string> reserved = {"and", "or", "not", "to", "near"};

const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

const char* class_name(query_class c) {
    switch (c) {
        case query_class::term:
            return "term";
        case query_class::all_of:
            return "2-term AND";
        case query_class::any_of:
            return "2-term OR";
        case query_class::phrase:
            return "phrase";
        case query_class::prefix:
            return "prefix";
        case query_class::field_time:
            return "field + time range";
    }
    return "?";
}

corpus::corpus(std::size_t records, std::size_t sessions, std::size_t months, std::uint64_t seed)
    : records_(records),
      sessions_(std::max<std::size_t>(1, sessions)),
      session_spacing_(months == 0
                           ? 60 * second
                           : std::int64_t(months) * 30 * 86'400 * second / std::int64_t(sessions_)),
      seed_(seed) {
    // Shell words first (the most frequent ranks), then generated words; no duplicates and no
    // word a query language reads as an operator.
    std::set<std::string> seen;
    auto add = [&](const std::string& w) {
        if (!reserved.contains(w) && seen.insert(w).second) words_.push_back(w);
    };
    for (std::size_t i = 0; i < std::max(commands.size(), shell_words.size()); ++i) {
        if (i < shell_words.size()) add(shell_words[i]);
        if (i < commands.size()) add(commands[i]);
    }
    std::uint64_t state = seed_ ^ 0x766f636162ull;
    while (words_.size() < vocabulary_size) {
        std::string w;
        auto n = 2 + below(state, 3);
        for (std::uint64_t i = 0; i < n; ++i)
            w += syllables[below(state, syllables.size())];
        if (below(state, 5) == 0) w += std::to_string(below(state, 100));
        add(w);
    }
    double total = 0;
    cdf_.reserve(words_.size());
    for (std::size_t r = 0; r < words_.size(); ++r)
        cdf_.push_back(total += 1.0 / std::pow(double(r + 1), 1.05));
    for (auto& c : cdf_)
        c /= total;
}

const std::string& corpus::zipf_word(std::uint64_t& state) const {
    auto it = std::lower_bound(cdf_.begin(), cdf_.end(), unit(state));
    return words_[std::min<std::size_t>(it - cdf_.begin(), words_.size() - 1)];
}

std::string corpus::path(std::uint64_t& state) const {
    static const char* roots[] = {"/var/log/", "/etc/", "/home/", "/opt/", "/srv/", "/tmp/"};
    static const char* extensions[] = {".log", ".conf", ".json", ".sh", ".py", ".gz", ""};
    std::string p = roots[below(state, 6)];
    auto depth = 1 + below(state, 3);
    for (std::uint64_t i = 0; i < depth; ++i)
        p += zipf_word(state) + "/";
    p += zipf_word(state);
    p += extensions[below(state, 7)];
    return p;
}

std::string corpus::ip(std::uint64_t& state) const {
    // A few networks, hosts Zipf-like within them, so that addresses repeat as they do in logs.
    static const char* nets[] = {"10.0.", "10.20.", "192.168.", "172.16."};
    auto host = std::uint64_t(std::pow(unit(state), 3) * 250);
    return nets[below(state, 4)] + std::to_string(below(state, 4)) + "." + std::to_string(host + 1);
}

std::size_t corpus::first_of(std::size_t session) const {
    return std::size_t((unsigned __int128)session * records_ / sessions_);
}

std::int64_t corpus::session_start(std::size_t session) const {
    return epoch_base + std::int64_t(session) * session_spacing_;
}

std::int64_t corpus::session_end(std::size_t session) const {
    auto count = std::int64_t(first_of(session + 1) - first_of(session));
    return session_start(session) + std::max<std::int64_t>(1, count) * record_spacing;
}

corpus_record corpus::at(std::size_t number) const {
    std::uint64_t state = seed_ * 0x100000001b3ull + number;
    corpus_record r;
    // The session whose range [first_of(s), first_of(s+1)) holds the number.
    auto s = std::size_t((unsigned __int128)number * sessions_ / records_);
    while (s + 1 < sessions_ && first_of(s + 1) <= number)
        ++s;
    while (s > 0 && first_of(s) > number)
        --s;
    r.session = std::uint32_t(s);
    r.start = session_start(s) + std::int64_t(number - first_of(s)) * record_spacing;
    auto kind = below(state, 10);
    auto words = [&](std::uint64_t n) {
        std::string out;
        for (std::uint64_t i = 0; i < n; ++i)
            out += (i ? " " : "") + zipf_word(state);
        return out;
    };
    if (kind < 5) {
        r.type = "command";
        r.text = commands[std::size_t(std::pow(unit(state), 2) * double(commands.size()))];
        auto args = below(state, 5);
        for (std::uint64_t i = 0; i < args; ++i) {
            switch (below(state, 6)) {
                case 0:
                    r.text += below(state, 2) ? " -la" : " --" + zipf_word(state);
                    break;
                case 1:
                case 2:
                    r.text += " " + path(state);
                    break;
                case 3:
                    r.text += " " + zipf_word(state) + "@" + ip(state);
                    break;
                default:
                    r.text += " " + zipf_word(state);
            }
        }
    } else if (kind < 9) {
        r.type = "screen";
        auto lines = 3 + below(state, 10);
        auto style = below(state, 4);
        for (std::uint64_t l = 0; l < lines; ++l) {
            if (l) r.text += "\n";
            auto day = 1 + below(state, 28), hour = below(state, 24), minute = below(state, 60);
            auto clock = std::to_string(hour) + ":" + std::to_string(minute) + ":" +
                         std::to_string(below(state, 60));
            switch (style) {
                case 0:  // syslog
                    r.text += std::string(months[below(state, 12)]) + " " + std::to_string(day) +
                              " " + clock + " " + zipf_word(state) + " " + zipf_word(state) + "[" +
                              std::to_string(100 + below(state, 30000)) +
                              "]: " + words(2 + below(state, 6));
                    if (below(state, 3) == 0) r.text += " from " + ip(state);
                    break;
                case 1:  // ls -l
                    r.text += std::string(below(state, 2) ? "-rw-r--r--" : "drwxr-xr-x") + " 1 " +
                              zipf_word(state) + " " + zipf_word(state) + " " +
                              std::to_string(below(state, 1'000'000)) + " " +
                              months[below(state, 12)] + " " + std::to_string(day) + " " +
                              zipf_word(state) + "." + zipf_word(state);
                    break;
                case 2:  // ps
                    r.text += zipf_word(state) + " " + std::to_string(100 + below(state, 30000)) +
                              " " + std::to_string(below(state, 100)) + ".0 " + path(state) + " " +
                              words(below(state, 3));
                    break;
                default:  // program output
                    r.text += words(3 + below(state, 9));
            }
        }
    } else {
        r.type = "window_title";
        r.text = below(state, 2) ? zipf_word(state) + "@" + zipf_word(state) + ": " + path(state)
                                 : words(2 + below(state, 4)) + " - " + zipf_word(state);
    }
    return r;
}

std::vector<bench_query> corpus::queries(query_class c, std::size_t count) const {
    std::uint64_t state = seed_ ^ (0x71756572ull + std::uint64_t(c) * 7919);
    auto any_word = [&]() -> const std::string& {
        auto rank = std::size_t(std::exp(unit(state) * std::log(double(words_.size()))));
        return words_[std::min(rank, words_.size()) - 1];
    };
    std::vector<bench_query> out;
    while (out.size() < count) {
        bench_query q{c, {}};
        switch (c) {
            case query_class::term:
                q.words = {any_word()};
                break;
            case query_class::all_of:
            case query_class::any_of: {
                q.words = {any_word(), any_word()};
                if (q.words[0] == q.words[1]) continue;
                break;
            }
            case query_class::phrase: {
                auto tokens = index::analyze(at(below(state, records_)).text);
                if (tokens.size() < 2) continue;
                auto i = below(state, tokens.size() - 1);
                if (tokens[i] == tokens[i + 1]) continue;
                q.words = {tokens[i], tokens[i + 1]};
                break;
            }
            case query_class::prefix: {
                auto& w = any_word();
                if (w.size() < 4) continue;
                q.words = {w.substr(0, 3)};
                break;
            }
            case query_class::field_time: {
                q.words = {any_word()};
                auto span = session_end(sessions_ - 1) - session_start(0);
                q.from = session_start(0) + std::int64_t(unit(state) * double(span));
                q.to = q.from + 3600 * second;
                break;
            }
        }
        out.push_back(std::move(q));
    }
    return out;
}

}  // namespace audex::bench
