#include "schema/personal_data.h"

namespace accountable {

namespace {
thread_local PersonalDataCipher* g_cipher = nullptr;
thread_local bool g_legacy = false;
}  // namespace

PersonalDataScope::PersonalDataScope(PersonalDataCipher* cipher) : previous_(g_cipher) { g_cipher = cipher; }
PersonalDataScope::~PersonalDataScope() { g_cipher = previous_; }
PersonalDataCipher* current_personal_cipher() { return g_cipher; }

LegacyPersonalFormat::LegacyPersonalFormat() : previous_(g_legacy) { g_legacy = true; }
LegacyPersonalFormat::~LegacyPersonalFormat() { g_legacy = previous_; }
bool legacy_personal_format() { return g_legacy; }

}  // namespace accountable
