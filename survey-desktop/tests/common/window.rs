//! The real-window tests: an Xvfb server on a free display (stopped on drop, pass or
//! fail), the app's command for it, a PNG screenshot's pixels, and the check that
//! Chinese glyphs (not empty boxes) are in the pixels.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_survey-desktop");

/// An Xvfb server on a free display, stopped on drop.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Self {
        // -displayfd: Xvfb picks a free display and writes its number once it accepts clients.
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1400x900x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb must be installed (Debian package xvfb; scripts/lib.sh installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("display number");
        let n: u32 = line.trim().parse().expect("Xvfb printed its display number");
        Self { child, display: format!(":{n}") }
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env("DISPLAY", &self.display)
            .env_remove("WAYLAND_DISPLAY")
            // Mesa's software renderer: no GPU needed.
            .env("LIBGL_ALWAYS_SOFTWARE", "1");
        c
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PNG screenshot's RGB pixels.
pub struct Shot {
    pub rgb: Vec<u8>,
    pub width: usize,
    pub height: usize,
    pub stderr: String,
}

/// The RGB pixels of a PNG file the app wrote, with the app's stderr.
pub fn read_png(path: &Path, stderr: String) -> Shot {
    let decoder = png::Decoder::new(BufReader::new(std::fs::File::open(path).expect("png written")));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("pixels");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    Shot { rgb: buf, width: info.width as usize, height: info.height as usize, stderr }
}

/// Distinct colours of a shot (a blank or one-colour window has few).
pub fn colours(shot: &Shot) -> usize {
    let mut c: Vec<[u8; 3]> = shot.rgb.chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
    c.sort_unstable();
    c.dedup();
    c.len()
}

/// The longest horizontal run of ink inside the menu labels (项目 编辑 视图 质检 语言,
/// top left of the window), leaving out the top and bottom 3 rows of their ink box.
///
/// Why this tells glyphs from boxes: a font without the characters draws each as the
/// same hollow box (□), whose inner rows hold only its two 1–2 pixel sides; the real
/// glyphs have horizontal strokes across their middle (目, 编, 视, 言 ...).
pub fn menu_interior_stroke(shot: &Shot) -> usize {
    let (x1, y1) = (200.min(shot.width), 26.min(shot.height));
    // Light text on the dark panel.
    let ink = |x: usize, y: usize| {
        let p = &shot.rgb[(y * shot.width + x) * 3..][..3];
        (u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3 > 120
    };
    let rows: Vec<usize> = (0..y1).filter(|&y| (0..x1).any(|x| ink(x, y))).collect();
    let (Some(&top), Some(&bottom)) = (rows.first(), rows.last()) else { return 0 };
    let mut longest = 0;
    for y in (top + 3)..bottom.saturating_sub(2) {
        let mut run = 0;
        for x in 0..x1 {
            run = if ink(x, y) { run + 1 } else { 0 };
            longest = longest.max(run);
        }
    }
    longest
}
