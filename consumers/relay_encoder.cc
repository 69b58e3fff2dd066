#include "consumers/relay_encoder.h"

#include <string>
#include <utility>

#include "events/subscription.h"

namespace accountable {

KafkaHeaders make_kafka_headers(const EventMessage& m) {
  if (m.headers.empty()) return nullptr;
  KafkaHeaders h(rd_kafka_headers_new(m.headers.size()));
  for (const auto& [name, value] : m.headers) {
    rd_kafka_header_add(h.get(), name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  }
  return h;
}

RelayEncoder::RelayEncoder(const EventLog& log, PersonalDataCipher* cipher, GlobalPosition from,
                           size_t read_batch_events, size_t max_queued_batches, std::chrono::milliseconds idle_wait)
    : log_(log),
      cipher_(cipher),
      read_batch_events_(read_batch_events),
      max_queued_batches_(max_queued_batches < 1 ? 1 : max_queued_batches),
      idle_wait_(idle_wait),
      thread_([this, from] { run(from); }) {}

RelayEncoder::~RelayEncoder() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::optional<EncodedBatch> RelayEncoder::next(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, wait, [this] { return !queue_.empty(); })) return std::nullopt;
  EncodedBatch batch = std::move(queue_.front());
  queue_.pop_front();
  lock.unlock();
  cv_.notify_all();  // room for the encoding thread
  return batch;
}

void RelayEncoder::recycle(EncodedBatch batch) {
  std::lock_guard lock(mu_);
  if (spares_.size() < max_queued_batches_) spares_.push_back(std::move(batch));
}

EncodedBatch RelayEncoder::take_spare() {
  std::lock_guard lock(mu_);
  if (spares_.empty()) return {};
  EncodedBatch b = std::move(spares_.back());
  spares_.pop_back();
  b.status = Status::ok();
  b.caught_up = false;
  return b;
}

bool RelayEncoder::push(EncodedBatch batch) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return stopping_ || queue_.size() < max_queued_batches_; });
  if (stopping_) return false;
  queue_.push_back(std::move(batch));
  lock.unlock();
  cv_.notify_all();
  return true;
}

void RelayEncoder::run(GlobalPosition from) {
  Subscription sub(log_, from, AllFilter{}, read_batch_events_);
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    auto read = sub.next(idle_wait_);
    EncodedBatch out = take_spare();
    if (!read) {
      out.events.clear();
      out.status = Status(read.status().code(), "reading the log at position " + std::to_string(sub.position().value()) +
                                                    ": " + read.status().message());
      push(std::move(out));
      return;  // fatal for the relay: nothing after it is read
    }
    if (read->events.empty()) {  // quiet log: the relay committed on the caught-up batch before
      recycle(std::move(out));
      continue;
    }
    const size_t n = read->events.size();
    if (out.events.size() < n) out.events.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const RecordedEvent& e = read->events[i];
      EncodedMessage& enc = out.events[i];
      if (Status s = encode_event_message(e, cipher_, &enc.message); !s.is_ok()) {
        out.events.clear();
        out.status = std::move(s);
        push(std::move(out));
        return;
      }
      enc.position = e.position.value();
      enc.hash = e.hash;
      enc.event_id = e.event_id;
    }
    out.events.resize(n);
    out.caught_up = sub.caught_up();
    if (!push(std::move(out))) return;
  }
}

}  // namespace accountable
