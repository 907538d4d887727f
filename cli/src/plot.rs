//! PNG charts for reports: learning curves, parameter sweeps and grouped bars.
//!
//! Drawn with `plotters` on its bitmap backend. Text goes through plotters' `ab_glyph`
//! renderer with a font compiled into the binary (Ubuntu Light from `epaint_default_fonts`,
//! Ubuntu Font Licence), so a chart renders the same on a bare machine with no system fonts
//! and no fontconfig. Axes carry explicit tick positions ([`Axis`]), so the same data gives
//! the same picture, and each file is written to a temporary name and renamed, so a reader
//! never sees half a PNG.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Chart size in pixels.
const SIZE: (u32, u32) = (960, 600);
/// Tableau 10: distinct, colour-blind-friendlier than the primaries.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const FONT: &str = "sans-serif";

/// How an axis maps values to positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Linear,
    /// log10; every value must be positive.
    Log,
}

/// Registers the compiled-in font once; plotters' `ab_glyph` backend has no other source.
fn font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(
                FONT,
                FontStyle::Normal,
                epaint_default_fonts::UBUNTU_LIGHT,
            )
            .map_err(|_| "the compiled-in chart font does not parse".to_string())
        })
        .clone()
}

/// `min..max` in drawing units widened by 4 % on both sides (a single value to a unit
/// around it first), so that no point sits on the frame.
fn padded(min: f64, max: f64) -> (f64, f64) {
    let (min, max) = if max > min {
        (min, max)
    } else {
        (min - 0.5, max + 0.5)
    };
    let pad = 0.04 * (max - min);
    (min - pad, max + pad)
}

/// An axis in drawing units (log10 of the value for [`Scale::Log`]) with its ticks.
#[derive(Clone, Debug, PartialEq)]
struct Axis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    scale: Scale,
    /// Decimals of the tick labels (linear axes).
    decimals: usize,
}

impl Axis {
    /// [`padded`], ticks at 1, 2 or 5 × 10^k (about 8 of them).
    fn linear(min: f64, max: f64) -> Axis {
        let (lo, hi) = padded(min, max);
        let raw = (hi - lo) / 8.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * magnitude)
            .find(|&s| s >= raw)
            .unwrap_or(10.0 * magnitude);
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        Axis {
            lo,
            hi,
            ticks: (first..=last).map(|k| k as f64 * step).collect(),
            scale: Scale::Linear,
            decimals: (-step.log10().floor()).max(0.0) as usize,
        }
    }

    /// Whole decades (with 2 and 5 between them when the range is under three decades).
    fn log(min: f64, max: f64) -> Axis {
        let (lo, hi) = padded(min.log10(), max.log10());
        let mantissas: &[f64] = if hi - lo < 3.0 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        let mut ticks = Vec::new();
        for decade in lo.floor() as i64..=hi.ceil() as i64 {
            for m in mantissas {
                let t = (m * 10f64.powi(decade as i32)).log10();
                if (lo..=hi).contains(&t) {
                    ticks.push(t);
                }
            }
        }
        Axis {
            lo,
            hi,
            ticks,
            scale: Scale::Log,
            decimals: 0,
        }
    }

    fn new(values: impl Iterator<Item = f64> + Clone, scale: Scale) -> Axis {
        let min = values.clone().fold(f64::INFINITY, f64::min);
        let max = values.fold(f64::NEG_INFINITY, f64::max);
        match scale {
            Scale::Linear => Axis::linear(min, max),
            Scale::Log => Axis::log(min, max),
        }
    }

    /// Evenly spaced categories 0..n, ticks at their centres.
    fn categories(n: usize) -> Axis {
        Axis {
            lo: 0.0,
            hi: n as f64,
            ticks: (0..n).map(|g| g as f64 + 0.5).collect(),
            scale: Scale::Linear,
            decimals: 0,
        }
    }

    fn to_axis(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear => v,
            Scale::Log => v.log10(),
        }
    }

    fn label(&self, v: f64) -> String {
        match self.scale {
            Scale::Linear => format!("{:.*}", self.decimals, v),
            Scale::Log => {
                let x = 10f64.powf(v);
                let decimals = (-x.log10().floor()).max(0.0) as usize;
                format!("{:.*}", decimals, x)
            }
        }
    }
}

/// Plotters coordinates: linear in drawing units, ticks exactly at [`Axis::ticks`].
impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        limit.0 + (t * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// The legend corner that hides the fewest points: each corner's box (a third of the width,
/// a quarter of the height per series, at most half) is scored by the points inside it.
fn legend_corner(x: &Axis, y: &Axis, points: &[(f64, f64)], lines: usize) -> SeriesLabelPosition {
    let (w, h) = (0.34, (0.08 * lines as f64 + 0.04).min(0.5));
    let inside = |left: bool, top: bool| {
        points
            .iter()
            .filter(|&&(px, py)| {
                let u = (px - x.lo) / (x.hi - x.lo);
                let v = (py - y.lo) / (y.hi - y.lo);
                let hx = if left { u <= w } else { u >= 1.0 - w };
                let hy = if top { v >= 1.0 - h } else { v <= h };
                hx && hy
            })
            .count()
    };
    [
        (SeriesLabelPosition::LowerRight, false, false),
        (SeriesLabelPosition::UpperLeft, true, true),
        (SeriesLabelPosition::UpperRight, false, true),
        (SeriesLabelPosition::LowerLeft, true, false),
    ]
    .into_iter()
    .min_by_key(|&(_, left, top)| inside(left, top))
    .map(|(corner, _, _)| corner)
    .unwrap_or(SeriesLabelPosition::LowerRight)
}

/// Checks the data: at least one point, every value finite (and positive on a log axis).
fn check(path: &Path, series: &[(&str, Vec<(f64, f64)>)], x_scale: Scale) -> Result<(), String> {
    if series.iter().all(|(_, points)| points.is_empty()) {
        return Err(format!(
            "{}: nothing to plot: every series is empty",
            path.display()
        ));
    }
    for (name, points) in series {
        for (n, &(x, y)) in points.iter().enumerate() {
            if !x.is_finite() || !y.is_finite() {
                return Err(format!(
                    "{}: series `{name}` point {n} is ({x}, {y}); every value must be finite",
                    path.display()
                ));
            }
            if x_scale == Scale::Log && x <= 0.0 {
                return Err(format!(
                    "{}: series `{name}` point {n} has x = {x}, which a log axis cannot show; \
                     use Scale::Linear or drop the point",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

/// Writes through `<dir>/.<name>.tmp.png` (the extension picks the encoder) and a rename.
fn write_png(
    path: &Path,
    draw: impl FnOnce(&Path) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<(), String> {
    font()?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{}: not a file path", path.display()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp: PathBuf = path.with_file_name(format!(".{name}.tmp.png"));
    if let Err(e) = draw(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{}: cannot draw the chart: {e}", path.display()));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

/// What the charts' frames differ in; [`render`] draws the rest the same for all.
struct Frame<'a> {
    title: &'a str,
    x: &'a Axis,
    y: &'a Axis,
    x_label: &'a dyn Fn(&f64) -> String,
    /// Axis descriptions (x, y); bar groups are named by their tick labels alone.
    axis_descs: Option<(&'a str, &'a str)>,
    /// Vertical grid lines; bars keep them off so that no line runs through a group.
    x_grid: bool,
    legend: SeriesLabelPosition,
}

type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<Axis, Axis>>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Draws `frame` (title, tick labels, grid, legend box) around the series that
/// `draw_series` adds, and writes it to `path` as a PNG.
fn render(
    path: &Path,
    frame: Frame,
    draw_series: impl FnOnce(&mut Chart) -> DrawResult,
) -> Result<(), String> {
    write_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(frame.title, (FONT, 26))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(frame.x.clone(), frame.y.clone())?;
        let y_label = |v: &f64| frame.y.label(*v);
        let mut mesh = chart.configure_mesh();
        mesh.x_label_formatter(frame.x_label)
            .y_label_formatter(&y_label)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225));
        if let Some((x_desc, y_desc)) = frame.axis_descs {
            mesh.x_desc(x_desc).y_desc(y_desc);
        }
        if !frame.x_grid {
            mesh.disable_x_mesh();
        }
        mesh.draw()?;
        draw_series(&mut chart)?;
        chart
            .configure_series_labels()
            .position(frame.legend)
            .label_font((FONT, 16))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .draw()?;
        root.present()?;
        Ok(())
    })
}

/// Accuracy (or any metric) against epoch, one line per series.
///
/// `series`: (legend name, [(epoch, value)]); values are drawn as given (fractions or %).
pub fn learning_curves(
    path: &Path,
    title: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> Result<(), String> {
    sweep(path, title, "epoch", "accuracy", Scale::Linear, series)
}

/// A metric against a swept parameter, one line per series with markers, and a legend;
/// `x_scale` may be logarithmic (learning rates, sample counts).
pub fn sweep(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    x_scale: Scale,
    series: &[(&str, Vec<(f64, f64)>)],
) -> Result<(), String> {
    check(path, series, x_scale)?;
    let all = series.iter().flat_map(|(_, p)| p.iter().copied());
    let x = Axis::new(all.clone().map(|(x, _)| x), x_scale);
    let y = Axis::new(all.clone().map(|(_, y)| y), Scale::Linear);
    let drawn: Vec<(f64, f64)> = all.map(|(px, py)| (x.to_axis(px), py)).collect();
    let frame = Frame {
        title,
        x: &x,
        y: &y,
        x_label: &|v| x.label(*v),
        axis_descs: Some((x_label, y_label)),
        x_grid: true,
        legend: legend_corner(&x, &y, &drawn, series.len()),
    };
    render(path, frame, |chart| {
        for (k, (name, points)) in series.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let points: Vec<(f64, f64)> =
                points.iter().map(|&(px, py)| (x.to_axis(px), py)).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                .label(*name)
                .legend(move |(lx, ly)| {
                    PathElement::new(vec![(lx, ly), (lx + 22, ly)], color.stroke_width(3))
                });
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )?;
        }
        Ok(())
    })
}

/// Grouped bars: one group per label, one bar per series in each group, each bar with its
/// value on top. Every series must have one value per label.
pub fn bars(
    path: &Path,
    title: &str,
    labels: &[String],
    series: &[(&str, Vec<f64>)],
) -> Result<(), String> {
    if labels.is_empty() || series.is_empty() {
        return Err(format!(
            "{}: nothing to plot: no labels or no series",
            path.display()
        ));
    }
    for (name, values) in series {
        if values.len() != labels.len() {
            return Err(format!(
                "{}: series `{name}` has {} values for {} labels; give one value per label",
                path.display(),
                values.len(),
                labels.len()
            ));
        }
        if let Some((n, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(format!(
                "{}: series `{name}` value {n} is {v}; every value must be finite",
                path.display()
            ));
        }
    }
    let values = series.iter().flat_map(|(_, v)| v.iter().copied());
    let min = values.clone().fold(0.0, f64::min);
    let max = values.fold(0.0, f64::max);
    // Room above the tallest bar for its value and the legend; the axis starts at zero for
    // positive data.
    let headroom = 0.1 + 0.08 * series.len() as f64;
    let mut y = Axis::linear(min, max + headroom * (max - min));
    if min >= 0.0 {
        y.lo = 0.0;
        y.ticks.retain(|&t| t >= 0.0);
    }
    let groups = labels.len();
    let width = 0.8 / series.len() as f64;
    let x = Axis::categories(groups);
    let frame = Frame {
        title,
        x: &x,
        y: &y,
        x_label: &|v| {
            let g = v.floor().clamp(0.0, (groups - 1) as f64) as usize;
            labels[g].clone()
        },
        axis_descs: None,
        x_grid: false,
        legend: SeriesLabelPosition::UpperRight,
    };
    render(path, frame, |chart| {
        for (k, (name, values)) in series.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let x0 = |g: usize| g as f64 + 0.1 + k as f64 * width;
            chart
                .draw_series(values.iter().enumerate().map(|(g, &v)| {
                    Rectangle::new([(x0(g), 0.0), (x0(g) + width * 0.92, v)], color.filled())
                }))?
                .label(*name)
                .legend(move |(lx, ly)| {
                    Rectangle::new([(lx, ly - 6), (lx + 16, ly + 6)], color.filled())
                });
            let decimals = y.decimals + 1;
            chart.draw_series(values.iter().enumerate().map(|(g, &v)| {
                Text::new(
                    format!("{v:.decimals$}"),
                    (x0(g) + width * 0.46, v),
                    (FONT, 13)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
            }))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

    fn assert_png(path: &Path) {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            bytes.starts_with(PNG_SIGNATURE),
            "{} is not a PNG",
            path.display()
        );
        // A blank 960×600 PNG compresses to a few hundred bytes; lines, text and bars
        // take several kilobytes.
        assert!(
            bytes.len() > 8_000,
            "{}: only {} bytes",
            path.display(),
            bytes.len()
        );
        let tmp = path.with_file_name(format!(
            ".{}.tmp.png",
            path.file_name().unwrap().to_string_lossy()
        ));
        assert!(!tmp.exists(), "{} left behind", tmp.display());
    }

    fn curve(scale: f64) -> Vec<(f64, f64)> {
        (1..=20)
            .map(|e| (e as f64, 1.0 - scale * (-(e as f64) / 5.0).exp()))
            .collect()
    }

    /// Set `LLS_PLOT_DIR` to keep the charts for a look.
    #[test]
    fn renders_every_chart() {
        let tmp = tempfile::tempdir().unwrap();
        let kept = std::env::var_os("LLS_PLOT_DIR").map(PathBuf::from);
        let dir = kept.as_deref().unwrap_or(tmp.path());
        let curves = dir.join("curves.png");
        learning_curves(
            &curves,
            "digits-mlp: test accuracy",
            &[
                ("fixed", curve(0.9)),
                ("float", curve(0.8)),
                ("bp", curve(0.7)),
            ],
        )
        .unwrap();
        assert_png(&curves);

        let sweep_png = dir.join("nested/sweep.png");
        let rates: [f64; 7] = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1];
        sweep(
            &sweep_png,
            "learning-rate sweep",
            "learning rate",
            "test accuracy (%)",
            Scale::Log,
            &[
                (
                    "lls",
                    rates
                        .iter()
                        .map(|&r| (r, 90.0 - (r.log10() + 2.5).powi(2)))
                        .collect(),
                ),
                (
                    "bp",
                    rates
                        .iter()
                        .map(|&r| (r, 93.0 - (r.log10() + 2.0).powi(2)))
                        .collect(),
                ),
            ],
        )
        .unwrap();
        assert_png(&sweep_png);

        let bars_png = dir.join("bars.png");
        bars(
            &bars_png,
            "MACs per sample (thousands)",
            &[
                "forward".to_string(),
                "learning".to_string(),
                "update".to_string(),
            ],
            &[
                ("lls", vec![2.37, 0.66, 2.37]),
                ("bp", vec![2.37, 0.32, 2.37]),
            ],
        )
        .unwrap();
        assert_png(&bars_png);
    }

    #[test]
    fn bad_data_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.png");
        let err = learning_curves(&path, "t", &[("a", vec![(1.0, f64::NAN)])]).unwrap_err();
        assert!(
            err.starts_with(&format!("{}: series `a` point 0", path.display())),
            "{err}"
        );
        let err = sweep(&path, "t", "x", "y", Scale::Log, &[("a", vec![(0.0, 1.0)])]).unwrap_err();
        assert!(err.contains("a log axis cannot show"), "{err}");
        let err = bars(&path, "t", &["x".to_string()], &[("a", vec![1.0, 2.0])]).unwrap_err();
        assert!(err.contains("has 2 values for 1 labels"), "{err}");
        assert!(learning_curves(&path, "t", &[("a", vec![])]).is_err());
        assert!(!path.exists());
    }

    #[test]
    fn axes_have_round_ticks() {
        let a = Axis::linear(0.0, 1.0);
        assert_eq!(a.decimals, 1);
        assert_eq!(a.ticks.first().copied(), Some(0.0));
        assert!(a
            .ticks
            .iter()
            .all(|t| (t * 10.0 - (t * 10.0).round()).abs() < 1e-9));
        let l = Axis::log(1e-4, 1e-1);
        let labels: Vec<String> = l.ticks.iter().map(|&t| l.label(t)).collect();
        assert_eq!(labels, ["0.0001", "0.001", "0.01", "0.1"]);
        let flat = Axis::linear(5.0, 5.0);
        assert!(flat.lo < 5.0 && flat.hi > 5.0);
    }
}
