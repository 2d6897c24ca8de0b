//! A settings file (the server's `settings` module, `Settings::from_toml`:
//! what `Settings::load` makes of a file). Properties: parsing never
//! panics, the database location prints without panicking, and settings
//! that parse, written back as TOML, read back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seatmeter_fuzz::settings::Settings;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(settings) = Settings::from_toml(text) else { return };
    let _ = settings.database().to_string();
    let Ok(written) = toml::to_string(&settings) else { return };
    let again = Settings::from_toml(&written).expect("written settings parse");
    assert_eq!(again, settings, "{written}");
});
