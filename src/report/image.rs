//! Pictures of results (`--image FILE.png`): a kernel's [`Picture`] mapped through a perceptual
//! colour map and written as an 8-bit RGB PNG.

use crate::error::{Error, Result};
use crate::kernels::{Picture, Problem};
use std::path::Path;

/// Stops of a perceptually ordered colour map (dark purple → orange → pale yellow, after
/// matplotlib's "inferno"), so that equal steps of value look like equal steps of colour.
const INFERNO: [[f32; 3]; 9] = [
    [0.001, 0.000, 0.014],
    [0.122, 0.047, 0.282],
    [0.341, 0.062, 0.429],
    [0.550, 0.161, 0.506],
    [0.735, 0.216, 0.330],
    [0.878, 0.393, 0.108],
    [0.975, 0.590, 0.038],
    [0.983, 0.807, 0.254],
    [0.988, 0.998, 0.645],
];

/// The colour of `t` in [0, 1] (clamped; NaN maps to black).
pub fn colormap(t: f32) -> [u8; 3] {
    if t.is_nan() {
        return [0, 0, 0];
    }
    let position = t.clamp(0.0, 1.0) * (INFERNO.len() - 1) as f32;
    let low = (position.floor() as usize).min(INFERNO.len() - 2);
    let fraction = position - low as f32;
    let mut rgb = [0u8; 3];
    for (channel, value) in rgb.iter_mut().enumerate() {
        let mixed = INFERNO[low][channel] * (1.0 - fraction) + INFERNO[low + 1][channel] * fraction;
        *value = (mixed * 255.0).round() as u8;
    }
    rgb
}

/// Writes `values` (row-major, `width × height`, each already scaled to [0, 1]) as a PNG.
pub fn write_field_png(
    path: &Path,
    width: usize,
    height: usize,
    values: impl Iterator<Item = f32>,
) -> Result<()> {
    let mut rgb = Vec::with_capacity(width * height * 3);
    for value in values.take(width * height) {
        rgb.extend_from_slice(&colormap(value));
    }
    if rgb.len() != width * height * 3 {
        return Err(Error::io(
            format!("writing {}", path.display()),
            std::io::Error::other("too few values for the image"),
        ));
    }
    let failed = |e: &dyn std::fmt::Display| {
        Error::io(
            format!("writing {}", path.display()),
            std::io::Error::other(e.to_string()),
        )
    };
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| failed(&e))?;
    writer.write_image_data(&rgb).map_err(|e| failed(&e))?;
    writer.finish().map_err(|e| failed(&e))?;
    crate::files::write(path, &png)
}

/// Writes a kernel's picture as a PNG.
pub fn write_picture(path: &Path, picture: &Picture) -> Result<()> {
    write_field_png(
        path,
        picture.width,
        picture.height,
        picture.values.iter().copied(),
    )
}

impl dyn Problem + '_ {
    /// Writes the last output as a PNG, for kernels that have a [`Problem::picture`]; any other
    /// kernel refuses with a usage error. (Here, not in `kernels`, so that kernels never depend
    /// on the report layer.)
    pub fn write_image(&self, path: &Path) -> Result<()> {
        match self.picture() {
            Some(picture) => write_picture(path, &picture),
            None => Err(Error::usage(format!(
                "this kernel cannot write an image ({})",
                path.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_map_runs_dark_to_light() {
        let brightness = |t: f32| colormap(t).iter().map(|&c| c as u32).sum::<u32>();
        assert!(brightness(0.0) < brightness(0.5) && brightness(0.5) < brightness(1.0));
        assert_eq!(colormap(-1.0), colormap(0.0));
        assert_eq!(colormap(f32::NAN), [0, 0, 0]);
    }

    #[test]
    fn writes_a_decodable_png_of_the_right_size() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("field.png");
        write_field_png(&path, 7, 5, (0..35).map(|i| i as f32 / 34.0)).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (7, 5));
    }

    #[test]
    fn a_kernel_without_a_picture_refuses_with_a_usage_error() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("copy.png");
        let problem = crate::kernels::find("copy")
            .unwrap()
            .prepare(3, 1, &Default::default());
        let error = problem.write_image(&path).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(
            error
                .to_string()
                .contains("this kernel cannot write an image"),
            "{error}"
        );
        assert!(!path.exists());
    }
}
