//! A trained image model as a file: its weights and buffers in safetensors under PyTorch's `state_dict` names, and in
//! the file's metadata what it takes to use it on new images: the task, the class names, and the per-channel mean
//! and standard deviation its inputs were normalised with (fastai's `normalize`). `cargo xtask train --save` writes
//! one; the heatmap lesson ships one (`public/data/shapes_cnn.safetensors`) and reads it back.

use crate::architecture::Architecture;
use crate::device::Device;
use crate::error::{ErrorKind, OpError, Result};
use crate::nn::Sequential;
use crate::rng::Rng;
use crate::safetensors::{Entry, File};

/// What a checkpoint says about its model besides the weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Info {
    /// The task it was trained on (`shapes`).
    pub task: String,
    /// The class names, in label order.
    pub classes: Vec<String>,
    /// Each input channel's `(mean, std)`: an image is normalised with them before the model sees it.
    pub stats: Vec<(f32, f32)>,
    /// The model's blocks and input, when it was built from an [`Architecture`] (what lets [`open`] rebuild it).
    pub architecture: Option<Architecture>,
}

/// The checkpoint's bytes: `model`'s state (read back from its device) and `info`.
pub async fn save(model: &mut Sequential, info: &Info) -> Result<Vec<u8>> {
    let entries = model.state().await?.into_iter().map(|(name, tensor)| Entry { name, tensor, integer: false }).collect();
    let stats: Vec<String> = info.stats.iter().map(|(m, s)| format!("{m:?} {s:?}")).collect();
    let mut metadata = vec![("task".into(), info.task.clone()), ("classes".into(), info.classes.join(",")), ("stats".into(), stats.join(","))];
    if let Some(arch) = &info.architecture {
        let input: Vec<String> = arch.input.iter().map(|d| d.to_string()).collect();
        metadata.push(("input".into(), input.join(",")));
        metadata.push(("architecture".into(), arch.code()));
    }
    Ok(File { entries, metadata }.to_bytes())
}

/// Reads a checkpoint into `model` (built with the checkpoint's architecture), returning what it says about
/// itself. A file that is not a checkpoint, or whose weights do not fit `model`, is refused in words and `model` is
/// left as it was.
pub fn load(bytes: &[u8], model: &mut Sequential) -> Result<Info> {
    let (file, info) = read(bytes)?;
    let values: Vec<(String, crate::tensor::Tensor)> = file.entries.into_iter().map(|e| (e.name, e.tensor)).collect();
    model.load_state(&values)?;
    Ok(info)
}

/// Rebuilds a checkpoint's model on `device` from the architecture it carries, with its weights: an exported model
/// imported again.
pub fn open(bytes: &[u8], device: &Device) -> Result<(Sequential, Info)> {
    let (_, info) = read(bytes)?;
    let arch = info.architecture.clone().ok_or_else(|| -> crate::error::Error {
        OpError::new("checkpoint", ErrorKind::Value, "the file does not say how to build its model")
            .expected("metadata architecture and input, as this site's export writes them")
            .given("weights only")
            .hint("import a model exported from the training lesson")
            .into()
    })?;
    let mut model = arch.build(device, &mut Rng::new(0)).map_err(|e| -> crate::error::Error { OpError::new("checkpoint", ErrorKind::Shape, &e).hint("export the model again").into() })?;
    let info = load(bytes, &mut model)?;
    Ok((model, info))
}

/// The file and its metadata, checked.
fn read(bytes: &[u8]) -> Result<(File, Info)> {
    let file = File::from_bytes(bytes)?;
    let refuse = |problem: &str| -> crate::error::Error {
        OpError::new("checkpoint", ErrorKind::Value, problem)
            .expected("metadata task, classes and stats (a mean and standard deviation per channel)")
            .given(format!("{:?}", file.metadata))
            .hint("save the model again with its task")
            .into()
    };
    let task = file.meta("task").ok_or_else(|| refuse("the file does not say its task"))?.to_string();
    let classes: Vec<String> = file.meta("classes").ok_or_else(|| refuse("the file does not name its classes"))?.split(',').map(str::to_string).collect();
    let stats = file
        .meta("stats")
        .ok_or_else(|| refuse("the file has no channel statistics"))?
        .split(',')
        .map(|pair| {
            let mut numbers = pair.split_whitespace().map(|v| v.parse::<f32>().ok().filter(|v| v.is_finite()));
            match (numbers.next().flatten(), numbers.next().flatten(), numbers.next()) {
                (Some(m), Some(s), None) if s > 0.0 => Some((m, s)),
                _ => None,
            }
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| refuse("the channel statistics are not pairs of numbers"))?;
    let architecture = match (file.meta("input"), file.meta("architecture")) {
        (Some(input), Some(code)) => {
            let dims: Vec<usize> = input.split(',').map(|d| d.trim().parse().ok().filter(|&d: &usize| (1..=4096).contains(&d))).collect::<Option<_>>().ok_or_else(|| refuse("the input shape is not three whole numbers"))?;
            let input: [usize; 3] = dims.try_into().map_err(|_| refuse("the input shape is not three whole numbers"))?;
            Some(Architecture::parse(input, classes.len(), code).map_err(|e| refuse(&format!("its architecture does not build: {e}")))?)
        }
        _ => None,
    };
    if stats.len() != architecture.as_ref().map_or(stats.len(), |a| a.input[0]) {
        return Err(refuse("there is not one channel statistic per input channel"));
    }
    Ok((file, Info { task, classes, stats, architecture }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Device;
    use crate::models::shapes_cnn;
    use crate::nn::Model;
    use crate::rng::Rng;
    use crate::tensor::Tensor;

    #[test]
    fn a_checkpoint_loads_back_into_a_model_of_its_architecture_only() {
        let info = Info { task: "shapes".into(), classes: vec!["circle".into(), "square".into()], stats: vec![(0.5, 0.25), (0.4, 0.2), (0.3, 0.1)], architecture: None };
        let mut trained = shapes_cnn(&Device::Cpu, &mut Rng::new(3));
        let bytes = pollster::block_on(save(&mut trained, &info)).unwrap();
        let mut fresh = shapes_cnn(&Device::Cpu, &mut Rng::new(4));
        assert_eq!(load(&bytes, &mut fresh).unwrap(), info);
        let x = Tensor::from_fn([1, 3, 32, 32], |i| (i as f32 * 0.3).cos());
        trained.set_training(false);
        fresh.set_training(false);
        assert_eq!(trained.forward(&x).unwrap().data(), fresh.forward(&x).unwrap().data());
        // Another architecture is refused, naming what does not fit.
        let mut other = crate::models::digits_cnn(&Device::Cpu, &mut Rng::new(1));
        assert!(load(&bytes, &mut other).unwrap_err().to_string().contains("another shape"));
        // Weights without their metadata are not a checkpoint.
        let bare = File { entries: File::from_bytes(&bytes).unwrap().entries, metadata: vec![] }.to_bytes();
        assert!(load(&bare, &mut fresh).unwrap_err().to_string().contains("does not say its task"));
        // Without its architecture a checkpoint cannot be rebuilt on its own.
        assert!(open(&bytes, &Device::Cpu).err().unwrap().to_string().contains("does not say how to build"));
    }

    #[test]
    fn a_checkpoint_with_its_architecture_rebuilds_its_model() {
        let arch = crate::architecture::simple_cnn([1, 8, 8], &[4, 8], 3);
        let mut model = arch.build(&Device::Cpu, &mut Rng::new(5)).unwrap();
        let info = Info { task: "digits".into(), classes: vec!["0".into(), "1".into(), "2".into()], stats: vec![(0.3, 0.4)], architecture: Some(arch) };
        let bytes = pollster::block_on(save(&mut model, &info)).unwrap();
        let (mut rebuilt, read) = open(&bytes, &Device::Cpu).unwrap();
        assert_eq!(read, info);
        let x = Tensor::from_fn([2, 1, 8, 8], |i| (i as f32 * 0.7).sin());
        model.set_training(false);
        rebuilt.set_training(false);
        assert_eq!(model.forward(&x).unwrap().data(), rebuilt.forward(&x).unwrap().data());
    }
}
