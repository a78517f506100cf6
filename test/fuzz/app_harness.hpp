// The Audex application without sockets, for the libFuzzer targets: a data directory in memory
// (tmpfs when there is one), an admin API key, and one request answered on a private io_context.
#pragma once

#include "api/app.hpp"
#include "auth/crypto.hpp"
#include "store/lmdb.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace audex::fuzz {

class app_harness {
  public:
    // `on_open` runs after every (re)creation of the store, e.g. to create the objects a target
    // writes to.
    explicit app_harness(std::function<void(app_harness&)> on_open = {})
        : on_open_(std::move(on_open)) {
        spdlog::set_level(spdlog::level::off);
        auth::init();
        auto base = std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                        : std::filesystem::temp_directory_path();
        directory_ = base / ("audex-fuzz-" + std::to_string(getpid()));
        open();
    }
    ~app_harness() {
        close();
        std::filesystem::remove_all(directory_);
    }

    // The store grows with every accepted write; a fresh one now and then keeps executions fast.
    void maybe_reset(std::size_t every) {
        if (++runs_ % every != 0) return;
        close();
        std::filesystem::remove_all(directory_);
        open();
    }

    const std::string& api_key() const { return api_key_; }
    std::uint64_t body_limit(const http::request_header& head) const {
        return app_->body_limit(head);
    }

    // Answers `req` as the server would and reads a streamed body to its end (into `body`, when
    // given); returns the status.
    unsigned answer(http::request req, std::string* body = nullptr) {
        http::reply reply;
        std::exception_ptr failure;
        http::connection_info conn{boost::asio::ip::make_address("127.0.0.1"), false};
        boost::asio::co_spawn(ioc_, app_->handle(std::move(req), conn),
                              [&](std::exception_ptr e, http::reply r) {
                                  failure = e;
                                  reply = std::move(r);
                              });
        ioc_.restart();
        ioc_.run();
        if (failure) {
            // The transport answers escaping api_exceptions; anything else is a 500 and a bug.
            try {
                std::rethrow_exception(failure);
            } catch (const api_exception&) {
                return 400;
            }
        }
        std::string out = std::move(reply.head.body());
        if (reply.stream) {
            while (reply.stream(out))
                if (!body) out.clear();
        }
        if (body) *body = std::move(out);
        return reply.head.result_int();
    }

  private:
    void open() {
        std::filesystem::create_directories(directory_);
        env_ = std::make_unique<store::environment>(directory_);
        api::app_settings settings;
        settings.node_serial = "AUDEX-FUZZ";
        settings.password_cost = auth::password_cost::minimum();
        app_ = std::make_unique<api::app>(settings, *env_);
        app_->users().bootstrap(directory_, std::string("fuzz-admin-password"));
        api_key_ = env_->write([&](store::transaction& txn) {
            return app_->users().issue_api_key(txn, app_->users().find(txn, "admin")->user_id);
        });
        if (on_open_) on_open_(*this);
    }
    void close() {
        app_.reset();
        env_.reset();
    }

    std::function<void(app_harness&)> on_open_;
    std::filesystem::path directory_;
    std::unique_ptr<store::environment> env_;
    std::unique_ptr<api::app> app_;
    std::string api_key_;
    boost::asio::io_context ioc_{1};
    std::size_t runs_ = 0;
};

}  // namespace audex::fuzz
