// The personal-data cipher of the decoding fuzz targets: no cryptography, so
// that the fuzzer can write sealed values itself.
//   seal: 'K' + plain. open: "" -> the subject's key is gone (erased);
//   'K' + plain -> plain; anything else -> an error.
#pragma once

#include <string>
#include <string_view>

#include "schema/personal_data.h"

namespace accountable::fuzz {

class TestCipher : public PersonalDataCipher {
 public:
  Result<std::string> seal(const std::string&, std::string_view plaintext) override {
    return "K" + std::string(plaintext);
  }
  Result<std::string> open(const std::string&, std::string_view sealed) override {
    if (sealed.empty()) return not_found("key destroyed");
    if (sealed[0] != 'K') return corruption("bad seal");
    return std::string(sealed.substr(1));
  }
  Status erase(const std::string&) override { return Status::ok(); }
};

}  // namespace accountable::fuzz
