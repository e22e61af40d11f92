//! Police force areas (ONS codes), the geography of reach figures.
//!
//! Source: Office for National Statistics licensed under the Open Government Licence v.3.0
//! (see `data/SOURCE.md`).

/// The code recorded when a person's area is not known.
pub const UNKNOWN: &str = "unknown";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    pub code: &'static str,
    pub name: &'static str,
    pub country: &'static str,
}

static CSV: &str = include_str!("../../../data/police_force_areas.csv");

/// Every police force area, sorted by name.
pub fn all() -> Vec<Area> {
    let mut areas: Vec<Area> = CSV
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut parts = line.trim().splitn(3, ',');
            Some(Area {
                code: parts.next()?,
                name: parts.next()?,
                country: parts.next()?,
            })
        })
        .collect();
    areas.sort_by(|a, b| a.name.cmp(b.name));
    areas
}

/// The area with this ONS code, if there is one.
pub fn find(code: &str) -> Option<Area> {
    all().into_iter().find(|a| a.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staffordshire_is_e23000015() {
        let a = find("E23000015");
        assert_eq!(a.map(|a| a.name), Some("Staffordshire"));
        assert_eq!(all().len(), 44);
        assert!(find("E23000099").is_none());
    }
}
