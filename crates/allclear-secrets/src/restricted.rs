//! Restricted files (stub).
use allclear_core::Finding;
use crate::config::RestrictedConfig;
use crate::scanner::ScannerError;
pub(crate) struct Detector;
impl Detector {
    pub fn new(_c: &RestrictedConfig) -> Result<Detector, ScannerError> { Ok(Detector) }
    pub fn wants(&self, _p: &str, _h: &[u8]) -> bool { false }
    pub fn check(&self, _p: &str, _c: &[u8]) -> Vec<Finding> { Vec::new() }
}
