//! The component glue every built-in converter shares, as a macro: each guest crate has its
//! own `wit-bindgen` types, so the code that moves them into [`crate::batch`]'s types and back
//! is expanded into each guest rather than written three times.

/// Expands, in a guest module that ran `wit_bindgen::generate!` for the `converter-plugin`
/// world, to `convert_request::<C>(request, task, name)`: the WIT request into
/// [`crate::batch`]'s types (number lists are moved, not copied), [`crate::batch::convert_batch`]
/// with the converter `C` built from the call's settings, and the result back into WIT types.
#[macro_export]
macro_rules! converter_glue {
    () => {
        fn convert_request<C: $crate::batch::ImageConverter>(
            request: exports::annotateforge::plugin::converter::ConvertRequest,
            task: annotateforge::plugin::types::TaskType,
            name: &str,
        ) -> ::core::result::Result<exports::annotateforge::plugin::converter::ConvertResult, annotateforge::plugin::types::PluginError> {
            use annotateforge::plugin::types::{OptionValue, PluginError, TaskType};
            use exports::annotateforge::plugin::converter::{ConvertResult, Labels, Warning, WarningReason};
            use $crate::batch::{AnnotationColumns, ImageHead};
            use $crate::WarningReason as R;

            let task_name = |t: TaskType| match t {
                TaskType::Classify => "classify",
                TaskType::Detect => "detect",
                TaskType::Segment => "segment",
            };
            if request.task != task {
                return Err(PluginError::InvalidInput(format!("{name} converts for {}, not {}", task_name(task), task_name(request.task))));
            }
            let settings = $crate::Settings::new(request.options.into_iter().map(|s| {
                let value = match s.value {
                    OptionValue::Flag(b) => $crate::OptionValue::Flag(b),
                    OptionValue::Integer(i) => $crate::OptionValue::Integer(i),
                    OptionValue::Number(n) => $crate::OptionValue::Number(n),
                    OptionValue::Text(t) => $crate::OptionValue::Text(t),
                };
                (s.name, value)
            }));
            let converter = C::from_settings(&settings).map_err(PluginError::InvalidOption)?;
            let classes = $crate::ClassTable::new(request.class_labels.into_iter().map(|c| (c.label, c.class_id)), request.num_classes);
            let images: Vec<ImageHead> = request
                .images
                .iter()
                .map(|i| ImageHead { id: i.id, width: i.width, height: i.height, class_label: i.class_label, annotation_count: i.annotation_count })
                .collect();
            let a = &request.annotations;
            let columns = AnnotationColumns { ids: &a.ids, kinds: &a.kinds, class_labels: &a.class_labels, coord_counts: &a.coord_counts, coords: &a.coords };
            let (labels, warnings) = $crate::batch::convert_batch(&converter, &images, &columns, &classes).map_err(PluginError::InvalidInput)?;
            let warnings = warnings
                .into_iter()
                .map(|w| Warning {
                    image_index: w.image_index,
                    annotation_id: w.warning.annotation_id,
                    reason: match w.warning.reason {
                        R::UnmappedClass => WarningReason::UnmappedClass,
                        R::Degenerate => WarningReason::Degenerate,
                        R::OutOfImage => WarningReason::OutOfImage,
                        R::TooFewPoints => WarningReason::TooFewPoints,
                        R::UnsupportedKind => WarningReason::UnsupportedKind,
                        R::InvalidGeometry => WarningReason::InvalidGeometry,
                        R::NoClassLabel => WarningReason::NoClassLabel,
                        R::AmbiguousClass => WarningReason::AmbiguousClass,
                    },
                    message: w.warning.message,
                })
                .collect();
            let labels = Labels { per_image: labels.per_image, class_ids: labels.class_ids, coord_counts: labels.coord_counts, coords: labels.coords };
            Ok(ConvertResult { labels, warnings })
        }
    };
}
