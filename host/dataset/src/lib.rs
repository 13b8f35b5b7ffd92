//! Dataset preparation: reads images and annotations (as plain records), runs the converter
//! and splitter plugins and writes the Ultralytics layout (`images/`, `labels/`, `data.yaml`
//! or ImageFolder) plus a dataset report.
