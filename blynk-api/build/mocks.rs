//! Repairs progenitor's typed httpmock helpers where progenitor 0.15 emits code that does not compile.
//!
//! For an array query parameter (`deviceIds`, `dataStreamIds`), the generated `When` method calls
//! `value.to_string()` on a `Vec` (upstream issue #1260). The repair rewrites exactly that call,
//! `self.0.query_param(NAME, value.to_string())`, inside methods whose parameter is a `Vec`, into
//! `crate::mock_support::query_param_list(self.0, NAME, value)`, which matches the repeated
//! parameter (`deviceIds=1&deviceIds=2`) value by value, in order. Nothing else is touched, and a
//! generator change that leaves an array parameter unrepaired fails the build with its name.

#![allow(dead_code)]

use quote::ToTokens;
use syn::visit_mut::VisitMut;

/// Returns the mock code with array query parameters matched element by element.
pub fn repair(code: &str) -> Result<String, String> {
    let mut file: syn::File =
        syn::parse_str(code).map_err(|e| format!("mock code does not parse: {e}"))?;
    let mut repair = ArrayQueryRepair::default();
    repair.visit_file_mut(&mut file);
    if let Some(name) = repair.unrepaired.first() {
        return Err(format!(
            "mock method `{name}` takes an array but its query matcher has an unknown shape; \
             update blynk-api/build/mocks.rs"
        ));
    }
    Ok(prettyplease::unparse(&file))
}

#[derive(Default)]
struct ArrayQueryRepair {
    /// Set while visiting a method whose `value` is a `Vec`.
    in_array_method: bool,
    /// Whether the current array method had its call rewritten.
    repaired: bool,
    unrepaired: Vec<String>,
}

impl VisitMut for ArrayQueryRepair {
    fn visit_impl_item_fn_mut(&mut self, method: &mut syn::ImplItemFn) {
        // The array shows up either in the parameter type (`&Vec<i32>`) or in the bound of `T`
        // (`T: Into<Option<&'a Vec<i32>>>`).
        let signature = method.sig.to_token_stream().to_string();
        let where_clause = method
            .sig
            .generics
            .where_clause
            .as_ref()
            .map(|w| w.to_token_stream().to_string())
            .unwrap_or_default();
        let is_array = signature.contains("Vec <") || where_clause.contains("Vec <");
        let mentions_query = method
            .block
            .to_token_stream()
            .to_string()
            .contains("query_param");
        if !(is_array && mentions_query) {
            return;
        }
        self.in_array_method = true;
        self.repaired = false;
        syn::visit_mut::visit_impl_item_fn_mut(self, method);
        if !self.repaired {
            self.unrepaired.push(method.sig.ident.to_string());
        }
        self.in_array_method = false;
    }

    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        if self.in_array_method
            && let syn::Expr::MethodCall(call) = expr
            && call.method == "query_param"
            && call.args.len() == 2
            && call.args[1].to_token_stream().to_string() == "value . to_string ()"
        {
            let receiver = &call.receiver;
            let name = &call.args[0];
            *expr = syn::parse_quote! {
                crate::mock_support::query_param_list(#receiver, #name, value)
            };
            self.repaired = true;
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}
