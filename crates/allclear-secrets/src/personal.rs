//! Personal data (stub).
use allclear_core::Finding;
use crate::config::PersonalConfig;
use crate::scanner::ScannerError;
pub(crate) struct Detector;
impl Detector {
    pub fn new(_c: &PersonalConfig) -> Result<Detector, ScannerError> { Ok(Detector) }
    pub fn check(&self, _p: &str, _c: &[u8]) -> Vec<Finding> { Vec::new() }
}
