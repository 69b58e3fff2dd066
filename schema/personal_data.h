// Personal data (people's names, emails, phones) is sealed per data subject
// inside event payloads and snapshots, so that destroying a subject's key
// erases it everywhere while the log's hash chain stays intact (crypto-shredding).
//
// Personal<T> (schema/domain_events.h) serializes through the cipher installed
// on the current thread by a PersonalDataScope. Without one, it is written in
// the clear (kind 0) — only tests and golden fixtures do that.
#pragma once

#include <string>
#include <string_view>

#include "events/status.h"

namespace accountable {

class PersonalDataCipher {
 public:
  virtual ~PersonalDataCipher() = default;
  virtual Result<std::string> seal(const std::string& subject, std::string_view plaintext) = 0;
  // kNotFound when the subject's key was destroyed: the data is erased.
  virtual Result<std::string> open(const std::string& subject, std::string_view sealed) = 0;
  // Destroys the subject's key for good (idempotent).
  virtual Status erase(const std::string& subject) = 0;
};

// Installs a cipher for Personal<T> serialization on this thread while alive.
class PersonalDataScope {
 public:
  explicit PersonalDataScope(PersonalDataCipher* cipher);
  ~PersonalDataScope();
  PersonalDataScope(const PersonalDataScope&) = delete;
  PersonalDataScope& operator=(const PersonalDataScope&) = delete;

 private:
  PersonalDataCipher* previous_;
};
PersonalDataCipher* current_personal_cipher();

// Schema-1 payloads wrote Personal<T> as (subject, value) in the clear; their
// upcasters read (and the golden generator writes) that form inside this scope.
class LegacyPersonalFormat {
 public:
  LegacyPersonalFormat();
  ~LegacyPersonalFormat();
  LegacyPersonalFormat(const LegacyPersonalFormat&) = delete;
  LegacyPersonalFormat& operator=(const LegacyPersonalFormat&) = delete;

 private:
  bool previous_;
};
bool legacy_personal_format();

// Thrown from inside serialization (cereal's only error channel) when sealing
// or opening fails; the codecs turn it back into a Status.
struct PersonalDataError : std::exception {
  Status status;
  explicit PersonalDataError(Status s) : status(std::move(s)) {}
  const char* what() const noexcept override { return status.message().c_str(); }
};

}  // namespace accountable
