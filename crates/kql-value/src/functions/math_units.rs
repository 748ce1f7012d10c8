//! Unit tables for `convert_angle`, `convert_energy`, ... Kusto uses the UnitsNet
//! library; factors below are UnitsNet's (value of one unit in the base unit), so
//! results agree with the engine to floating-point rounding.

/// (unit, size of one unit in the quantity's base unit).
type Table = &'static [(&'static str, f64)];

const DEG_PER_RAD: f64 = 180.0 / std::f64::consts::PI;

pub(super) const ANGLE: Table = &[
    ("Degree", 1.0),
    ("Nanodegree", 1e-9),
    ("Microdegree", 1e-6),
    ("Millidegree", 1e-3),
    ("Radian", DEG_PER_RAD),
    ("Nanoradian", DEG_PER_RAD * 1e-9),
    ("Microradian", DEG_PER_RAD * 1e-6),
    ("Milliradian", DEG_PER_RAD * 1e-3),
    ("Centiradian", DEG_PER_RAD * 1e-2),
    ("Deciradian", DEG_PER_RAD * 1e-1),
    ("Arcminute", 1.0 / 60.0),
    ("Arcsecond", 1.0 / 3600.0),
    ("Gradian", 0.9),
    ("NatoMil", 9.0 / 160.0),
    ("Revolution", 360.0),
];

const BTU: f64 = 1_055.055_852_62;
const EV: f64 = 1.602_176_565e-19;

pub(super) const ENERGY: Table = &[
    ("Joule", 1.0),
    ("Millijoule", 1e-3),
    ("Kilojoule", 1e3),
    ("Megajoule", 1e6),
    ("Gigajoule", 1e9),
    ("Calorie", 4.184),
    ("Kilocalorie", 4.184e3),
    ("Megacalorie", 4.184e6),
    ("BritishThermalUnit", BTU),
    ("KilobritishThermalUnit", BTU * 1e3),
    ("MegabritishThermalUnit", BTU * 1e6),
    ("GigabritishThermalUnit", BTU * 1e9),
    ("ElectronVolt", EV),
    ("KiloelectronVolt", EV * 1e3),
    ("MegaelectronVolt", EV * 1e6),
    ("GigaelectronVolt", EV * 1e9),
    ("TeraelectronVolt", EV * 1e12),
    ("FootPound", 1.355_817_948),
    ("Erg", 1e-7),
    ("WattHour", 3600.0),
    ("KilowattHour", 3600.0 * 1e3),
    ("MegawattHour", 3600.0 * 1e6),
    ("GigawattHour", 3600.0 * 1e9),
    ("TerawattHour", 3600.0 * 1e12),
    ("WattDay", 86400.0),
    ("KilowattDay", 86400.0 * 1e3),
    ("MegawattDay", 86400.0 * 1e6),
    ("GigawattDay", 86400.0 * 1e9),
    ("TerawattDay", 86400.0 * 1e12),
    ("ThermEc", 1.055_055_852_62e8),
    ("DecathermEc", 1.055_055_852_62e9),
    ("ThermUs", 1.054_804e8),
    ("DecathermUs", 1.054_804e9),
    ("ThermImperial", 1.055_055_852_573_48e8),
    ("DecathermImperial", 1.055_055_852_573_48e9),
    ("HorsepowerHour", 2.684_519_537_7e6),
];

const LBF: f64 = 4.448_221_615_260_5;

pub(super) const FORCE: Table = &[
    ("Newton", 1.0),
    ("Micronewton", 1e-6),
    ("Millinewton", 1e-3),
    ("Decanewton", 1e1),
    ("Kilonewton", 1e3),
    ("Meganewton", 1e6),
    ("Dyn", 1e-5),
    ("KilogramForce", 9.806_650_028_64),
    ("KiloPond", 9.806_650_028_64),
    ("TonneForce", 9.806_650_028_64e3),
    ("PoundForce", LBF),
    ("KilopoundForce", LBF * 1e3),
    ("OunceForce", 0.278_013_850_953_781_2),
    ("Poundal", 0.138_255_027_989_730_4),
    ("ShortTonForce", 8.896_443_230_521e3),
];

const METER_TABLE: Table = &[
    ("Meter", 1.0),
    ("Nanometer", 1e-9),
    ("Micrometer", 1e-6),
    ("Millimeter", 1e-3),
    ("Centimeter", 1e-2),
    ("Decimeter", 1e-1),
    ("Decameter", 1e1),
    ("Hectometer", 1e2),
    ("Kilometer", 1e3),
    ("Angstrom", 1e-10),
    ("Mile", 1609.34),
    ("Yard", 0.9144),
    ("Foot", 0.3048),
    ("UsSurveyFoot", 1200.0 / 3937.0),
    ("Inch", 2.54e-2),
    ("Mil", 2.54e-5),
    ("Microinch", 2.54e-8),
    ("NauticalMile", 1852.0),
    ("Fathom", 1.8288),
    ("Shackle", 27.432),
    ("Chain", 20.1168),
    ("DataMile", 1828.8),
    ("Hand", 0.1016),
    ("PrinterPoint", 2.54e-2 / 72.27),
    ("DtpPoint", 2.54e-2 / 72.0),
    ("PrinterPica", 1.0 / 237.106_301_584),
    ("DtpPica", 1.0 / 236.220_472_441),
    ("Twip", 1.0 / 56_692.913_385_826),
    ("AstronomicalUnit", 1.495_978_707e11),
    ("Parsec", 3.085_677_581_28e16),
    ("Kiloparsec", 3.085_677_581_28e19),
    ("Megaparsec", 3.085_677_581_28e22),
    ("LightYear", 9.460_730_472_58e15),
    ("KilolightYear", 9.460_730_472_58e18),
    ("MegalightYear", 9.460_730_472_58e21),
    ("SolarRadius", 6.955_1e8),
];

pub(super) const LENGTH: Table = METER_TABLE;

pub(super) const MASS: Table = &[
    ("Kilogram", 1.0),
    ("Gram", 1e-3),
    ("Nanogram", 1e-12),
    ("Microgram", 1e-9),
    ("Milligram", 1e-6),
    ("Centigram", 1e-5),
    ("Decigram", 1e-4),
    ("Decagram", 1e-2),
    ("Hectogram", 1e-1),
    ("Tonne", 1e3),
    ("Kilotonne", 1e6),
    ("Megatonne", 1e9),
    ("ShortTon", 907.184_74),
    ("LongTon", 1_016.046_908_8),
    ("Pound", 0.453_592_37),
    ("Kilopound", 453.592_37),
    ("Megapound", 453_592.37),
    ("Ounce", 0.028_349_523_125),
    ("Slug", 1.0 / 6.852_176_556_196_105e-2),
    ("Stone", 1.0 / 0.157_473_172_870_269_8),
    ("ShortHundredweight", 1.0 / 0.022_046_226_218_487_758),
    ("LongHundredweight", 1.0 / 0.019_684_130_552_221_21),
    ("Grain", 1.0 / 15_432.358_352_941_431),
    ("SolarMass", 1.98947e30),
    ("EarthMass", 5.9722e24),
];

pub(super) const SPEED: Table = &[
    ("MeterPerSecond", 1.0),
    ("NanometerPerSecond", 1e-9),
    ("MicrometerPerSecond", 1e-6),
    ("MillimeterPerSecond", 1e-3),
    ("CentimeterPerSecond", 1e-2),
    ("DecimeterPerSecond", 1e-1),
    ("KilometerPerSecond", 1e3),
    ("MeterPerMinute", 1.0 / 60.0),
    ("NanometerPerMinute", 1e-9 / 60.0),
    ("MicrometerPerMinute", 1e-6 / 60.0),
    ("MillimeterPerMinute", 1e-3 / 60.0),
    ("CentimeterPerMinute", 1e-2 / 60.0),
    ("DecimeterPerMinute", 1e-1 / 60.0),
    ("KilometerPerMinute", 1e3 / 60.0),
    ("MeterPerHour", 1.0 / 3600.0),
    ("MillimeterPerHour", 1e-3 / 3600.0),
    ("CentimeterPerHour", 1e-2 / 3600.0),
    ("KilometerPerHour", 1e3 / 3600.0),
    ("FootPerSecond", 0.3048),
    ("FootPerMinute", 0.3048 / 60.0),
    ("FootPerHour", 0.3048 / 3600.0),
    ("UsSurveyFootPerSecond", 1200.0 / 3937.0),
    ("UsSurveyFootPerMinute", 1200.0 / 3937.0 / 60.0),
    ("UsSurveyFootPerHour", 1200.0 / 3937.0 / 3600.0),
    ("InchPerSecond", 2.54e-2),
    ("InchPerMinute", 2.54e-2 / 60.0),
    ("InchPerHour", 2.54e-2 / 3600.0),
    ("YardPerSecond", 0.9144),
    ("YardPerMinute", 0.9144 / 60.0),
    ("YardPerHour", 0.9144 / 3600.0),
    ("Knot", 0.514_444),
    ("MilePerHour", 0.447_04),
];

const US_GALLON: f64 = 0.003_785_41;
const IMP_GALLON: f64 = 0.004_546_090_000_001_814;
const CUBIC_FOOT: f64 = 0.028_316_8;

pub(super) const VOLUME: Table = &[
    ("CubicMeter", 1.0),
    ("HectocubicMeter", 1e2),
    ("KilocubicMeter", 1e3),
    ("Liter", 1e-3),
    ("Microliter", 1e-9),
    ("Milliliter", 1e-6),
    ("Centiliter", 1e-5),
    ("Deciliter", 1e-4),
    ("Decaliter", 1e-2),
    ("Hectoliter", 1e-1),
    ("Kiloliter", 1.0),
    ("Megaliter", 1e3),
    ("CubicKilometer", 1e9),
    ("CubicHectometer", 1e6),
    ("CubicDecimeter", 1e-3),
    ("CubicCentimeter", 1e-6),
    ("CubicMillimeter", 1e-9),
    ("CubicMicrometer", 1e-18),
    ("CubicMile", 4.168_181_825_440_58e9),
    ("CubicYard", 0.764_554_858),
    ("CubicFoot", CUBIC_FOOT),
    ("HectocubicFoot", CUBIC_FOOT * 1e2),
    ("KilocubicFoot", CUBIC_FOOT * 1e3),
    ("MegacubicFoot", CUBIC_FOOT * 1e6),
    ("CubicInch", 1.6387e-5),
    ("ImperialGallon", IMP_GALLON),
    ("KiloimperialGallon", IMP_GALLON * 1e3),
    ("MegaimperialGallon", IMP_GALLON * 1e6),
    ("ImperialOunce", 2.841_306_249_996_29e-5),
    ("UsGallon", US_GALLON),
    ("DeciusGallon", US_GALLON * 1e-1),
    ("DecausGallon", US_GALLON * 1e1),
    ("HectousGallon", US_GALLON * 1e2),
    ("KilousGallon", US_GALLON * 1e3),
    ("MegausGallon", US_GALLON * 1e6),
    ("UsOunce", 2.957_352_956_253_760_5e-5),
    ("UsTablespoon", 1.478_676_478_125e-5),
    ("AuTablespoon", 2e-5),
    ("UkTablespoon", 1.5e-5),
    ("MetricTeaspoon", 0.5e-5),
    ("UsTeaspoon", 4.928_921_593_75e-6),
    ("MetricCup", 0.000_25),
    ("UsCustomaryCup", 0.000_236_588_236_5),
    ("UsLegalCup", 0.000_24),
    ("OilBarrel", 0.158_987_294_928),
    ("UsBeerBarrel", 0.117_347_765_8),
    ("ImperialBeerBarrel", 0.163_659_24),
    ("UsQuart", 9.463_529_46e-4),
    ("UsPint", 4.731_764_73e-4),
    ("AcreFoot", 1.0 / 0.000_810_714),
    ("ImperialPint", 5.682_612_5e-4),
    ("BoardFoot", 2.359_737_215_8e-3),
];

fn find(table: Table, unit: &str) -> Option<f64> {
    let unit = unit.trim();
    table
        .iter()
        .find(|(n, _)| *n == unit)
        .or_else(|| table.iter().find(|(n, _)| n.eq_ignore_ascii_case(unit)))
        .map(|(_, f)| *f)
}

/// Converts with a linear table; `None` for an unknown unit.
pub(super) fn convert_linear(table: Table, value: f64, from: &str, to: &str) -> Option<f64> {
    let f = find(table, from)?;
    let t = find(table, to)?;
    if f == t {
        return Some(value);
    }
    Some(if t == 1.0 {
        value * f
    } else if f == 1.0 {
        value / t
    } else {
        value * f / t
    })
}

/// Angles also know `Tilt` (the sine of the angle), which is not linear.
pub(super) fn convert_angle(value: f64, from: &str, to: &str) -> Option<f64> {
    let is_tilt = |u: &str| u.trim().eq_ignore_ascii_case("Tilt");
    let degrees = if is_tilt(from) {
        value.asin() * DEG_PER_RAD
    } else {
        value * find(ANGLE, from)?
    };
    if is_tilt(to) {
        Some((degrees / DEG_PER_RAD).sin())
    } else if is_tilt(from) {
        Some(degrees / find(ANGLE, to)?)
    } else {
        convert_linear(ANGLE, value, from, to)
    }
}

fn to_kelvin(v: f64, unit: &str) -> Option<f64> {
    Some(match unit {
        "Kelvin" => v,
        "DegreeCelsius" => v + 273.15,
        "MillidegreeCelsius" => v / 1000.0 + 273.15,
        "DegreeDelisle" => v * -2.0 / 3.0 + 373.15,
        "DegreeFahrenheit" => v * 5.0 / 9.0 + 459.67 * 5.0 / 9.0,
        "DegreeNewton" => v * 100.0 / 33.0 + 273.15,
        "DegreeRankine" => v * 5.0 / 9.0,
        "DegreeReaumur" => v * 5.0 / 4.0 + 273.15,
        "DegreeRoemer" => v * 40.0 / 21.0 + 273.15 - 7.5 * 40.0 / 21.0,
        "SolarTemperature" => v * 5778.0,
        _ => return None,
    })
}

fn from_kelvin(k: f64, unit: &str) -> Option<f64> {
    Some(match unit {
        "Kelvin" => k,
        "DegreeCelsius" => k - 273.15,
        "MillidegreeCelsius" => (k - 273.15) * 1000.0,
        "DegreeDelisle" => (k - 373.15) * -3.0 / 2.0,
        "DegreeFahrenheit" => k * 9.0 / 5.0 - 459.67,
        "DegreeNewton" => (k - 273.15) * 33.0 / 100.0,
        "DegreeRankine" => k * 9.0 / 5.0,
        "DegreeReaumur" => (k - 273.15) * 4.0 / 5.0,
        "DegreeRoemer" => (k - 273.15) * 21.0 / 40.0 + 7.5,
        "SolarTemperature" => k / 5778.0,
        _ => return None,
    })
}

const TEMPERATURE_UNITS: [&str; 10] = [
    "Kelvin",
    "DegreeCelsius",
    "MillidegreeCelsius",
    "DegreeDelisle",
    "DegreeFahrenheit",
    "DegreeNewton",
    "DegreeRankine",
    "DegreeReaumur",
    "DegreeRoemer",
    "SolarTemperature",
];

fn canonical_temperature(unit: &str) -> Option<&'static str> {
    let unit = unit.trim();
    TEMPERATURE_UNITS
        .iter()
        .find(|u| u.eq_ignore_ascii_case(unit))
        .copied()
}

pub(super) fn convert_temperature(value: f64, from: &str, to: &str) -> Option<f64> {
    let from = canonical_temperature(from)?;
    let to = canonical_temperature(to)?;
    if from == to {
        return Some(value);
    }
    from_kelvin(to_kelvin(value, from)?, to)
}
