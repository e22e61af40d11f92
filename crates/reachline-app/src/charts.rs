//! Report charts: SVG drawn on the server by `plotters` (SVG backend only: no fonts, no C
//! libraries), inlined in the HTML report and the console dashboard.
//!
//! Charts only ever receive published (disclosure-controlled) values: a value published as
//! words ("fewer than 8", hidden) is not drawn, and the table beside every chart gives each
//! value. The SVG carries `role="img"`, a `<title>` and a `<desc>`, and no `style` attribute
//! or element (the CSP forbids inline styles), only presentation attributes.

use plotters::prelude::*;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 320;
/// Bars: dark blue (7.9:1 on white). Line: dark orange-brown (5.6:1). Text: near black.
const BAR: RGBColor = RGBColor(0x1d, 0x4f, 0x91);
const LINE: RGBColor = RGBColor(0xa8, 0x4a, 0x00);
const TEXT: RGBColor = RGBColor(0x1b, 0x1b, 0x1b);
const AXIS: RGBColor = RGBColor(0x50, 0x5a, 0x5f);

/// What a chart shows, for people who cannot see it.
pub struct Described<'a> {
    /// Unique on the page (for `aria-labelledby`).
    pub id: &'a str,
    pub title: &'a str,
    pub desc: &'a str,
}

/// One series of published values (`None` where the value is published as words).
pub struct Series<'a> {
    pub name: &'a str,
    pub values: &'a [Option<i64>],
}

/// Bars for the first series and, optionally, a line with points for the second, over
/// categories (months, channels). Returns the SVG markup (empty if drawing failed).
pub fn bars(
    d: &Described<'_>,
    labels: &[String],
    bars: Series<'_>,
    line: Option<Series<'_>>,
) -> String {
    if labels.is_empty() {
        return String::new();
    }
    // A drawing library's arithmetic must never take a report down with it.
    let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        draw(labels, &bars, line.as_ref()).map_err(|e| e.to_string())
    }));
    match drawn {
        Ok(Ok(svg)) => accessible(&svg, d),
        Ok(Err(e)) => {
            tracing::warn!(chart = d.id, error = %e, "chart not drawn");
            String::new()
        }
        Err(_) => {
            tracing::warn!(chart = d.id, "chart not drawn (the library panicked)");
            String::new()
        }
    }
}

fn draw(
    labels: &[String],
    bars: &Series<'_>,
    line: Option<&Series<'_>>,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let max = bars
            .values
            .iter()
            .chain(line.map(|l| l.values).unwrap_or_default())
            .flatten()
            .copied()
            .max()
            .unwrap_or(0)
            .max(5);
        // A segmented range includes both ends: 0..=n-1 gives exactly one segment per label
        // (one label still needs a range of two values).
        let last = u32::try_from(labels.len().max(2) - 1)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d((0u32..last).into_segmented(), 0i64..(max + max / 8 + 1))?;
        let formatter = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(0xd0, 0xd0, 0xd0))
            .x_labels(labels.len().clamp(1, 12))
            .y_labels(6)
            .x_label_formatter(&formatter)
            .label_style(("sans-serif", 13).into_font().color(&TEXT))
            .axis_style(AXIS)
            .draw()?;
        chart
            .draw_series(bars.values.iter().enumerate().filter_map(|(i, v)| {
                let i = u32::try_from(i).ok()?;
                v.map(|v| {
                    let mut r = Rectangle::new(
                        [(SegmentValue::Exact(i), 0), (SegmentValue::Exact(i + 1), v)],
                        BAR.filled(),
                    );
                    r.set_margin(0, 0, 4, 4);
                    r
                })
            }))?
            .label(bars.name)
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], BAR.filled()));
        if let Some(line) = line {
            let points: Vec<(SegmentValue<u32>, i64)> = line
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| Some((SegmentValue::CenterOf(u32::try_from(i).ok()?), (*v)?)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), LINE.stroke_width(3)))?
                .label(line.name)
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], LINE.stroke_width(3)));
            chart.draw_series(points.into_iter().map(|p| Circle::new(p, 4, LINE.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 13).into_font().color(&TEXT))
            .border_style(AXIS)
            .background_style(WHITE)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Makes the SVG scale with its container, names it for assistive technology and turns any
/// `style="…"` into presentation attributes (the CSP allows no inline style).
fn accessible(svg: &str, d: &Described<'_>) -> String {
    let body = match svg.find('>') {
        Some(end) if svg.starts_with("<svg") => &svg[end + 1..],
        _ => return String::new(),
    };
    let id = escape(d.id);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" class=\"chart\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" focusable=\"false\"><title id=\"{id}-title\">{}</title>\
         <desc id=\"{id}-desc\">{}</desc>",
        escape(d.title),
        escape(d.desc)
    );
    out.push_str(&without_style_attributes(body));
    out
}

/// `style="a:b;c:d"` becomes `a="b" c="d"` (every property plotters writes there is also a
/// presentation attribute).
fn without_style_attributes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(" style=\"") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 8..];
        let Some(end) = after.find('"') else {
            rest = "";
            break;
        };
        for decl in after[..end].split(';') {
            if let Some((k, v)) = decl.split_once(':') {
                let (k, v) = (k.trim(), v.trim());
                if !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !v.contains(['"', '<', '>'])
                {
                    out.push_str(&format!(" {k}=\"{v}\""));
                }
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_is_named_scalable_and_has_no_inline_style() {
        let labels: Vec<String> = ["Jan", "Feb", "Mar"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let svg = bars(
            &Described {
                id: "trend",
                title: "Contacts by month",
                desc: "Bars <per> month",
            },
            &labels,
            Series {
                name: "contacts",
                values: &[Some(10), None, Some(25)],
            },
            Some(Series {
                name: "missed",
                values: &[Some(0), Some(10), None],
            }),
        );
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 720 320\"")
        );
        assert!(svg.contains("<title id=\"trend-title\">Contacts by month</title>"));
        assert!(svg.contains("<desc id=\"trend-desc\">Bars &lt;per&gt; month</desc>"));
        assert!(svg.contains("aria-labelledby=\"trend-title trend-desc\""));
        assert!(!svg.contains("style"), "{svg}");
        assert!(svg.contains("\nFeb\n</text>"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
    }

    #[test]
    fn any_number_of_categories_draws_and_none_draws_nothing() {
        let d = Described {
            id: "c",
            title: "t",
            desc: "d",
        };
        for n in [1usize, 2, 12, 60, 120] {
            let labels: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
            let values: Vec<Option<i64>> = (0..n)
                .map(|i| (i % 3 != 0).then_some(i as i64 * 5))
                .collect();
            let svg = bars(
                &d,
                &labels,
                Series {
                    name: "a",
                    values: &values,
                },
                None,
            );
            assert!(
                svg.contains("<rect") && svg.contains("\nm0\n</text>"),
                "{n}: {svg:.300}"
            );
            // Every value zero or words: still drawn (an empty chart), never a panic.
            let none = vec![None; n];
            assert!(!bars(
                &d,
                &labels,
                Series {
                    name: "a",
                    values: &none
                },
                None
            )
            .is_empty());
        }
        assert_eq!(
            bars(
                &d,
                &[],
                Series {
                    name: "a",
                    values: &[]
                },
                None
            ),
            ""
        );
    }

    #[test]
    fn style_attributes_become_presentation_attributes() {
        assert_eq!(
            without_style_attributes("<text x=\"1\" style=\"font-size:13px; fill:#000\">a</text>"),
            "<text x=\"1\" font-size=\"13px\" fill=\"#000\">a</text>"
        );
    }
}
