//! `Now`, `ToMicros`, `Time`, `Date`, `Epoch`.

use fauna_wire::{Date, Timestamp, Value};

use crate::engine::error::{err, expected, R};
use crate::engine::eval::{to_micros, to_str, Ev};
use crate::engine::parse::{Ast, NodeId, F};
use crate::engine::val::{Env, Val};

impl Ev<'_> {
    /// Evaluates the time forms.
    pub fn time_form(
        &mut self,
        n: NodeId,
        f: F,
        args: &[(&'static str, NodeId)],
        env: &Env,
    ) -> R<Val> {
        match f {
            F::Now => Ok(Val::V(Value::Timestamp(Timestamp::from_micros(
                self.txn_ts,
            )))),
            F::ToMicros => {
                let v = self.arg(args, "to_micros", env)?;
                let node = Ast::arg(args, "to_micros").unwrap_or(n);
                match v {
                    Val::V(Value::Timestamp(t)) => {
                        Ok(Val::V(Value::Int(t.to_micros().unwrap_or(i64::MAX))))
                    }
                    Val::V(Value::Date(d)) => Ok(Val::V(Value::Int(
                        Timestamp::at_start_of(d).to_micros().unwrap_or(i64::MAX),
                    ))),
                    other => expected(node, "Time or Date", other.type_name()),
                }
            }
            F::Time => {
                let v = self.arg(args, "time", env)?;
                let node = Ast::arg(args, "time").unwrap_or(n);
                let s = to_str(&v, node)?;
                if s == "now" {
                    return Ok(Val::V(Value::Timestamp(Timestamp::from_micros(
                        self.txn_ts,
                    ))));
                }
                match Timestamp::parse(&s) {
                    Ok(t) => Ok(Val::V(Value::Timestamp(t))),
                    Err(_) => err(
                        node,
                        "invalid argument",
                        format!("Cannot cast '{s}' to a time."),
                    ),
                }
            }
            F::Date => {
                let v = self.arg(args, "date", env)?;
                let node = Ast::arg(args, "date").unwrap_or(n);
                let s = to_str(&v, node)?;
                match Date::parse(&s) {
                    Ok(d) => Ok(Val::V(Value::Date(d))),
                    Err(_) => err(
                        node,
                        "invalid argument",
                        format!("Cannot cast '{s}' to a date."),
                    ),
                }
            }
            _ => {
                let v = self.arg(args, "epoch", env)?;
                let num = to_micros(&v, Ast::arg(args, "epoch").unwrap_or(n))?;
                let u = self.arg(args, "unit", env)?;
                let unode = Ast::arg(args, "unit").unwrap_or(n);
                let unit = to_str(&u, unode)?;
                let nanos: i128 = match unit.as_str() {
                    "second" | "seconds" => 1_000_000_000,
                    "millisecond" | "milliseconds" => 1_000_000,
                    "microsecond" | "microseconds" => 1_000,
                    "nanosecond" | "nanoseconds" => 1,
                    _ => {
                        return err(
                            unode,
                            "invalid argument",
                            format!("Invalid time unit '{unit}'."),
                        )
                    }
                };
                let total = i128::from(num) * nanos;
                let secs = total.div_euclid(1_000_000_000);
                let sub = total.rem_euclid(1_000_000_000);
                match i64::try_from(secs)
                    .ok()
                    .and_then(|s| Timestamp::new(s, sub as u32).ok())
                {
                    Some(t) => Ok(Val::V(Value::Timestamp(t))),
                    None => err(n, "invalid argument", "Time out of range."),
                }
            }
        }
    }
}
