//! Bar charts as SVG, drawn on the server: readable without JavaScript,
//! each bar's label its tooltip and all of them together the chart's
//! description, for screen readers.

use askama::Template;

/// One bar to draw: its label for people, its short label under the axis,
/// its value, and the limit drawn across it (a bar above its limit is red).
pub(crate) struct BarValue {
    pub label: String,
    pub short: String,
    pub value: u64,
    pub limit: Option<u64>,
}

/// One bar of a chart, placed.
struct Bar {
    label: String,
    short: String,
    over: bool,
    x: i64,
    y: i64,
    width: i64,
    height: i64,
    limit_y: Option<i64>,
}

#[derive(Template)]
#[template(path = "bar_chart.svg", escape = "html")]
struct BarChart {
    id: &'static str,
    title: &'static str,
    empty: &'static str,
    width: i64,
    height: i64,
    top: i64,
    base: i64,
    scale: u64,
    bars: Vec<Bar>,
    description: String,
}

/// Where the chart's bars stand: the drawing's size, the top and the base
/// line of the bars, the left margin of the axis labels, and the value of
/// the top.
struct Frame {
    width: i64,
    height: i64,
    top: i64,
    base: i64,
    left: i64,
    scale: u64,
}

impl Frame {
    /// The height of value `v` as a `y` coordinate.
    fn y_of(&self, v: u64) -> i64 {
        self.base
            - (i64::try_from(v).unwrap_or(0) * (self.base - self.top))
                / i64::try_from(self.scale).unwrap_or(1)
    }

    /// The bars of `values`, side by side.
    fn place(&self, values: &[BarValue]) -> Vec<Bar> {
        let span = i64::try_from(values.len().max(1)).unwrap_or(1);
        let slot = (self.width - self.left) / span;
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Bar {
                label: v.label.clone(),
                short: v.short.clone(),
                over: v.limit.is_some_and(|l| v.value > l),
                x: self.left + i64::try_from(i).unwrap_or(0) * slot + slot / 6,
                y: self.y_of(v.value),
                width: Ord::max(slot * 2 / 3, 1),
                height: self.base - self.y_of(v.value),
                limit_y: v.limit.map(|l| self.y_of(l)),
            })
            .collect()
    }
}

/// A bar chart of `values` as SVG, titled `title` (`empty` shown when there
/// are none); `id` names its title and description in the page.
pub(crate) fn bar_chart(
    id: &'static str,
    title: &'static str,
    empty: &'static str,
    values: &[BarValue],
) -> String {
    let scale = values.iter().flat_map(|v| [v.value, v.limit.unwrap_or(0)]).chain([1]).max().unwrap_or(1);
    let frame = Frame { width: 640, height: 220, top: 16, base: 190, left: 48, scale };
    let bars = frame.place(values);
    let description = values.iter().map(|v| v.label.as_str()).collect::<Vec<_>>().join("; ");
    let Frame { width, height, top, base, .. } = frame;
    let chart = BarChart { id, title, empty, width, height, top, base, scale, bars, description };
    chart.render().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(value: u64, limit: Option<u64>) -> BarValue {
        BarValue { label: format!("{value} used"), short: value.to_string(), value, limit }
    }

    #[test]
    fn bars_scale_to_the_highest_value_or_limit_and_those_above_their_limit_are_red() {
        let frame = Frame { width: 640, height: 220, top: 16, base: 190, left: 48, scale: 10 };
        let bars = frame.place(&[value(5, Some(4)), value(10, Some(12)), value(0, None)]);
        assert_eq!(bars.len(), 3);
        assert!(bars[0].over && !bars[1].over && !bars[2].over);
        assert_eq!((bars[1].y, bars[1].height), (16, 174));
        assert_eq!(bars[2].height, 0);
        assert_eq!(bars[0].limit_y, Some(190 - 4 * 174 / 10));
        assert!(bars.windows(2).all(|w| w[0].x < w[1].x));

        let svg = bar_chart("usage", "Usage", "Nothing yet", &[value(3, Some(2))]);
        assert!(svg.contains("<desc id=\"usage-chart-desc\">3 used</desc>"), "{svg}");
        assert!(svg.contains("#d9534f"), "{svg}");
        let empty = bar_chart("trend", "Trend", "Nothing yet", &[]);
        assert!(empty.contains("Nothing yet"), "{empty}");
    }
}
