//! Converters: one image's annotations → label records (the `converter-plugin` world).

use wasmtime::component::InstancePre;
use wasmtime::Store;

use crate::bindings::converter::{ConvertRequest, ConvertResult, Label};
use crate::bindings::converter_world::{ConverterPlugin, ConverterPluginPre};
use crate::bindings::types::{self as wit, TaskType};
use crate::kind::{KindPre, PluginKind};
use crate::metadata::Kind;
use crate::sandbox::HostState;

/// The converter kind.
pub struct Converter;

impl PluginKind for Converter {
    const KIND: Kind = Kind::Converter;
    const CALL: &'static str = "convert";
    type Pre = ConverterPluginPre<HostState>;
    type Bindings = ConverterPlugin;
    type Input = ConvertRequest;
    type Output = ConvertResult;

    fn pre(instance_pre: InstancePre<HostState>) -> wasmtime::Result<Self::Pre> {
        ConverterPluginPre::new(instance_pre)
    }

    fn pre_of(pres: &KindPre) -> Option<&Self::Pre> {
        match pres {
            KindPre::Converter(p) => Some(p),
            _ => None,
        }
    }

    fn wrap_pre(pre: Self::Pre) -> KindPre {
        KindPre::Converter(pre)
    }

    fn instantiate(pre: &Self::Pre, store: &mut Store<HostState>) -> wasmtime::Result<Self::Bindings> {
        pre.instantiate(store)
    }

    fn metadata(b: &Self::Bindings, store: &mut Store<HostState>) -> wasmtime::Result<wit::PluginMetadata> {
        b.annotateforge_plugin_converter().call_metadata(store)
    }

    fn call(b: &Self::Bindings, store: &mut Store<HostState>, input: &ConvertRequest) -> wasmtime::Result<Result<ConvertResult, wit::PluginError>> {
        b.annotateforge_plugin_converter().call_convert(store, input)
    }

    fn check(req: &ConvertRequest, out: &ConvertResult) -> Result<(), String> {
        check_result(req, out)
    }
}

/// The contract of a conversion result: labels of the task's kind, class ids in range,
/// coordinates finite and normalised, polygons with ≥ 3 points, at most one image class,
/// warnings about annotations of the request.
pub fn check_result(req: &ConvertRequest, out: &ConvertResult) -> Result<(), String> {
    let n = req.num_classes;
    let class = |i: usize, c: u32| if c < n { Ok(()) } else { Err(format!("label {i} has class id {c}, but there are only {n} classes (0..{})", n.saturating_sub(1))) };
    let unit = |i: usize, what: &str, v: f64| {
        if v.is_finite() && (0.0..=1.0).contains(&v) { Ok(()) } else { Err(format!("label {i}: {what} = {v} is not a normalised coordinate in [0, 1]")) }
    };
    let mut image_classes = 0;
    for (i, label) in out.labels.iter().enumerate() {
        match (req.task, label) {
            (TaskType::Detect, Label::Bbox(b)) => {
                class(i, b.class_id)?;
                for (what, v) in [("cx", b.cx), ("cy", b.cy), ("w", b.w), ("h", b.h)] {
                    unit(i, what, v)?;
                }
                if b.w <= 0.0 || b.h <= 0.0 {
                    return Err(format!("label {i} is an empty box ({} x {})", b.w, b.h));
                }
            }
            (TaskType::Segment, Label::Polygon(p)) => {
                class(i, p.class_id)?;
                if p.points.len() < 3 {
                    return Err(format!("label {i} is a polygon with {} points (at least 3 needed)", p.points.len()));
                }
                for (j, (x, y)) in p.points.iter().enumerate() {
                    unit(i, &format!("point {j} x"), *x)?;
                    unit(i, &format!("point {j} y"), *y)?;
                }
            }
            (TaskType::Classify, Label::ImageClass(c)) => {
                class(i, *c)?;
                image_classes += 1;
                if image_classes > 1 {
                    return Err("more than one image class for one image".into());
                }
            }
            (task, other) => {
                let what = match other {
                    Label::Bbox(_) => "box",
                    Label::Polygon(_) => "polygon",
                    Label::ImageClass(_) => "image-class",
                };
                return Err(format!("label {i} is a {what} label, which a {task:?} dataset cannot use"));
            }
        }
    }
    for w in &out.warnings {
        if let Some(id) = w.annotation_id {
            if !req.annotations.iter().any(|a| a.id == id) {
                return Err(format!("a warning names annotation {id}, which is not in the request"));
            }
        }
    }
    Ok(())
}
