//! The noise of a residual image from its median absolute deviation.

use ndarray::ArrayView2;

/// `1.4826 · median(|x − median(x)|)` over the image (or over the pixels where `mask` is
/// true): the standard deviation of Gaussian noise, robust to the sources. `None` for no
/// pixels.
pub fn mad_sigma(image: ArrayView2<'_, f32>, mask: Option<ArrayView2<'_, bool>>) -> Option<f32> {
    let mut v: Vec<f32> = match mask {
        None => image.iter().copied().collect(),
        Some(m) => image
            .iter()
            .zip(m.iter())
            .filter(|(_, &k)| k)
            .map(|(&x, _)| x)
            .collect(),
    };
    if v.is_empty() {
        return None;
    }
    let med = median(&mut v);
    v.iter_mut().for_each(|x| *x = (*x - med).abs());
    Some(1.4826 * median(&mut v))
}

fn median(v: &mut [f32]) -> f32 {
    let n = v.len();
    let (_, &mut hi, _) = v.select_nth_unstable_by(n / 2, |a, b| a.total_cmp(b));
    if n % 2 == 1 {
        hi
    } else {
        let lo = v[..n / 2].iter().copied().fold(f32::NEG_INFINITY, f32::max);
        0.5 * (lo + hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn gaussian_noise_with_sources() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = Normal::new(0.2f32, 1.5).unwrap();
        let mut img = Array2::from_shape_fn((200, 200), |_| n.sample(&mut rng));
        // 1% of the pixels are bright sources: the estimate barely moves.
        for i in 0..400 {
            img[[i / 2, (i * 7) % 200]] = 1000.0;
        }
        let s = mad_sigma(img.view(), None).unwrap();
        assert!((s - 1.5).abs() < 0.05, "{s}");
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 10.0]), 2.5);
        let none = Array2::from_elem((200, 200), false);
        assert_eq!(mad_sigma(img.view(), Some(none.view())), None);
    }
}
